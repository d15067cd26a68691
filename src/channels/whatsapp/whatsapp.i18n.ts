/** Strings of the WhatsApp channel in Settings › Chats (connecting a number, its templates); what the chat shows of WhatsApp is in chats.i18n.ts. */
export const whatsappEn = {
  'channels.field.waba_id': 'WhatsApp Business Account ID',
  'channels.field.waba_id_hint': 'WhatsApp only: in WhatsApp Manager › Account tools › Phone numbers (the account the number belongs to).',
  'channels.error.wa_number_unknown': 'This token cannot see a WhatsApp phone number with this ID. Copy the phone number ID (not the phone number itself) from WhatsApp Manager.',
  'channels.error.wa_not_in_waba': 'This phone number does not belong to this WhatsApp Business Account.',
  'channels.error.wa_waba_unknown': 'This token cannot see a WhatsApp Business Account with this ID.',
  'channels.wa.display_number': 'Number',
  'channels.wa.templates': 'Templates',
  'channels.wa.templates_none': 'No template fetched yet.',
  'channels.wa.templates_refresh': 'Refresh templates',
  'channels.wa.template_status': 'Status',
  'channels.wa.templates_refreshed': '{n} templates fetched from WhatsApp.',
} as const;

export const whatsappFr: Record<keyof typeof whatsappEn, string> = {
  'channels.field.waba_id': 'ID du compte WhatsApp Business',
  'channels.field.waba_id_hint': 'WhatsApp uniquement : dans WhatsApp Manager › Outils du compte › Numéros de téléphone (le compte auquel appartient le numéro).',
  'channels.error.wa_number_unknown': 'Ce jeton ne voit aucun numéro WhatsApp avec cet ID. Copiez l’ID du numéro (et non le numéro lui-même) depuis WhatsApp Manager.',
  'channels.error.wa_not_in_waba': 'Ce numéro n’appartient pas à ce compte WhatsApp Business.',
  'channels.error.wa_waba_unknown': 'Ce jeton ne voit aucun compte WhatsApp Business avec cet ID.',
  'channels.wa.display_number': 'Numéro',
  'channels.wa.templates': 'Modèles',
  'channels.wa.templates_none': 'Aucun modèle récupéré pour l’instant.',
  'channels.wa.templates_refresh': 'Actualiser les modèles',
  'channels.wa.template_status': 'Statut',
  'channels.wa.templates_refreshed': '{n} modèles récupérés auprès de WhatsApp.',
};
