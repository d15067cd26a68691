// The UI's only CSS and JavaScript, served from the emulator itself (no CDN). The script is
// optional: pages work without it; it refreshes the conversation every 2 s and can mark the
// shop's messages read automatically ("the phone is open on this chat").

export const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f0f2f5;color:#1c1e21}
a{color:#0866ff}
header.top{display:flex;gap:24px;align-items:center;padding:10px 20px;background:#1c2b4a;color:#fff}
header.top a{color:#fff;text-decoration:none;margin-right:14px}
header.top .brand{font-weight:700}
main{max-width:1100px;margin:20px auto;padding:0 16px}
.card{background:#fff;border-radius:10px;padding:16px 20px;margin-bottom:16px;box-shadow:0 1px 2px rgba(0,0,0,.1)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:16px}
h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:16px 0 8px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:5px 8px;border-bottom:1px solid #e4e6eb;vertical-align:top}
code,pre{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;background:#f5f6f7;border-radius:4px}
pre{padding:8px;overflow:auto;max-height:240px;white-space:pre-wrap;word-break:break-all}
.muted{color:#65676b}.small{font-size:12px}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:11px;background:#e4e6eb}
.badge.messenger{background:#d8e7ff}.badge.instagram{background:#fbd9ec}.badge.whatsapp{background:#d3f5dc}
.badge.ok{background:#d3f5dc}.badge.bad{background:#ffd8d8}
form.inline{display:inline}
input[type=text],input[type=tel],textarea,select{font:inherit;padding:6px 8px;border:1px solid #ccd0d5;border-radius:6px}
textarea{width:100%;min-height:60px}
button{font:inherit;padding:6px 12px;border:0;border-radius:6px;background:#0866ff;color:#fff;cursor:pointer}
button.secondary{background:#e4e6eb;color:#1c1e21}button.link{background:none;color:#0866ff;padding:0 4px}
.chat{display:flex;flex-direction:column;gap:6px;max-height:60vh;overflow:auto;padding:8px;background:#fff;border-radius:10px}
.msg{max-width:70%;padding:8px 12px;border-radius:16px;background:#e4e6eb;align-self:flex-start;word-wrap:break-word}
.msg.mine{align-self:flex-end;background:#0866ff;color:#fff}.msg.mine a{color:#fff}
.msg.deleted{opacity:.5;font-style:italic}
.msg img,.msg video{max-width:240px;border-radius:8px;display:block}.msg audio{max-width:260px}
.meta{font-size:11px;opacity:.75;margin-top:3px}
.actions form{display:inline}.actions button{padding:0 4px;background:none;color:inherit;font-size:13px}
.typing{color:#65676b;font-style:italic}
.choice{display:block;padding:6px 0}
.comment{border-left:3px solid #e4e6eb;padding:4px 10px;margin:6px 0}.comment .comment{margin-left:16px}
.comment.business{border-color:#0866ff}
.row{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
`;

export const JS = `
(function(){
  var box=document.querySelector('[data-poll]');
  if(!box)return;
  var auto=document.getElementById('autoread');
  function atBottom(){return box.scrollHeight-box.scrollTop-box.clientHeight<40;}
  function markRead(){
    var f=document.getElementById('read-form');
    if(!f)return;
    fetch(f.action,{method:'POST',body:new URLSearchParams(new FormData(f))});
  }
  box.scrollTop=box.scrollHeight;
  setInterval(function(){
    fetch(box.getAttribute('data-poll'),{headers:{'accept':'text/html'}}).then(function(r){return r.text();}).then(function(t){
      if(t===box.getAttribute('data-last'))return;
      var stick=atBottom();
      box.setAttribute('data-last',t);
      var tpl=document.createElement('template');tpl.innerHTML=t;
      box.replaceChildren(tpl.content);
      if(stick)box.scrollTop=box.scrollHeight;
      var unread=box.querySelector('[data-unread]');
      if(auto&&auto.checked&&unread&&unread.getAttribute('data-unread')!=='0')markRead();
    }).catch(function(){});
  },2000);
})();
`;
