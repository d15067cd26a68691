// Graph API errors: `{ error: { message, type, code, error_subcode, fbtrace_id } }` (§6).
// The catalogue below holds every error the emulator can return, with the code/subcode from
// meta-platform.md §6 and the HTTP status Graph answers with (400 for almost everything; the
// WhatsApp Cloud API answers 401 for token errors).

export interface GraphErrorBody {
  message: string;
  type: string;
  code: number;
  error_subcode?: number;
  error_user_title?: string;
  error_user_msg?: string;
  error_data?: unknown;
  is_transient?: boolean;
  fbtrace_id?: string;
}

export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly body: GraphErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
  }
}

function err(status: number, code: number, message: string, extra: Partial<GraphErrorBody> = {}, type = 'OAuthException'): GraphError {
  return new GraphError(status, { message, type, code, ...extra });
}

export type Surface = 'graph' | 'whatsapp';

const SESSION_INVALIDATED = 'Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.';

export const errors = {
  missingToken: () => err(400, 104, 'An access token is required to request this resource.'),

  /** Unknown / unparsable token (§6: 190). */
  invalidToken: (surface: Surface) => withAuthHeader(err(surface === 'whatsapp' ? 401 : 400, 190, 'Invalid OAuth access token - Cannot parse access token')),

  /** Revoked token: subcode 460 (session invalidated). */
  revokedToken: (surface: Surface) => withAuthHeader(err(surface === 'whatsapp' ? 401 : 400, 190, SESSION_INVALIDATED, { error_subcode: 460 })),

  expiredToken: (surface: Surface, at: string) => withAuthHeader(err(surface === 'whatsapp' ? 401 : 400, 190, `Error validating access token: Session has expired on ${at}.`, { error_subcode: 463 })),

  pageTokenRequired: () => err(400, 210, '(#210) A page access token is required to request this resource.'),

  notAuthorizedFor: (id: string) => err(400, 200, `(#200) The access token is not authorized to act for object ${id}.`),

  unsupported: (method: string, id: string) =>
    err(
      400,
      100,
      `Unsupported ${method.toLowerCase()} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api`,
      { error_subcode: 33 },
      'GraphMethodException',
    ),

  unknownPath: (path: string) => err(400, 2500, `Unknown path components: ${path}`),

  badVersion: (version: string) => err(400, 2635, `Invalid API version "${version}": use /vNN.N/… (e.g. /v25.0/).`),

  invalidParam: (message: string, extra: Partial<GraphErrorBody> = {}) => err(400, 100, `(#100) ${message}`, extra),

  /** Messenger outside the 24 h window (§6: 10 / 2018278). */
  messengerWindow: () =>
    err(400, 10, '(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview', {
      error_subcode: 2018278,
    }),

  /** Instagram outside its window (§6: 10 / 2534022 ❓ from an OSS error map). */
  instagramWindow: () => err(400, 10, '(#10) This message is sent outside of allowed window.', { error_subcode: 2534022 }),

  humanAgentNotAllowed: () => err(400, 10, '(#10) Application does not have permission for this action (Human Agent feature not approved).'),

  /** Retired tags since 2026-04-27 (§2.6): code 100, subcode 1893061 ❓. */
  retiredTag: (tag: string) =>
    err(400, 100, '(#100) Invalid parameter', {
      error_subcode: 1893061,
      error_user_title: 'Message tag retired',
      error_user_msg: `The message tag ${tag} is no longer supported since April 27th, 2026.`,
    }),

  noMatchingUser: () => err(400, 100, '(#100) No matching user found', { error_subcode: 2018001 }),

  /** §6: 551 / 1545041. */
  personUnavailable: () => err(400, 551, "(#551) This person isn't available right now.", { error_subcode: 1545041 }),

  /** Messenger profile of a person who hides it (§2.9): 100 / 2018218. */
  noProfile: () => err(400, 100, 'No profile available for this user.', { error_subcode: 2018218 }),

  /** Instagram profile without consent (§3.5): 230. */
  igConsent: () => err(400, 230, 'User consent is required to access user profile'),

  textTooLong: (limit: number) => err(400, 100, `(#100) Length of param message[text] must be less than or equal to ${limit}`),

  igTextTooLong: (limit: number) => err(400, 100, `(#100) Message text must be UTF-8 and ${limit} bytes or less.`),

  fetchFailed: () => err(400, 100, '(#100) Failed to fetch the file from the url', { error_subcode: 2018008 }),

  attachmentTooBig: (limit: number) => err(400, 100, `(#100) Upload attachment failure: the attachment exceeds the ${Math.round(limit / 1024 / 1024)} MB limit.`, { error_subcode: 2018047 }),

  privateReplyDone: () => err(400, 10900, '(#10900) Activity already replied to'),

  privateReplyNotAllowed: () => err(400, 10903, '(#10903) This user cant reply to this activity'),

  rateLimit: (code: number) => {
    switch (code) {
      case 4:
        return err(400, 4, '(#4) Application request limit reached', { is_transient: true });
      case 613:
        return err(400, 613, '(#613) Calls to this api have exceeded the rate limit.', { is_transient: true });
      case 130429:
        return waErr(400, 130429, 'Rate limit hit', 'Cloud API message throughput has been reached.');
      case 131056:
        return waErr(
          400,
          131056,
          '(Business Account, Consumer Account) pair rate limit hit',
          'Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.',
        );
      default:
        return err(400, code, `(#${code}) Rate limit exceeded`, { is_transient: true });
    }
  },

  // WhatsApp (§4, §6): build logic on `code` and `error_data.details`.
  waWindow: () => waErr(400, 131047, 'Re-engagement message', 'More than 24 hours have passed since the recipient last replied to the sender number.'),
  waParam: (details: string) => waErr(400, 100, 'Invalid parameter', details),
  waTemplateMissing: (name: string, lang: string) => waErr(404, 132001, 'Template name does not exist in the translation', `template name (${name}) does not exist in ${lang}`),
  waTemplateParams: (details: string) => waErr(400, 132000, 'Number of parameters does not match the expected number of params', details),
  waTemplateNotApproved: (name: string) => waErr(400, 132001, 'Template name does not exist in the translation', `template ${name} is not approved`),
  waMediaUpload: (details: string) => waErr(400, 131053, 'Media upload error', details),
};

function waErr(status: number, code: number, message: string, details: string): GraphError {
  return err(status, code, `(#${code}) ${message}`, { error_data: { messaging_product: 'whatsapp', details } });
}

function withAuthHeader(e: GraphError): GraphError {
  // Graph adds a WWW-Authenticate header to OAuth token errors.
  e.headers['www-authenticate'] = `OAuth "Facebook Platform" "invalid_token" "${e.body.message.replace(/"/g, "'")}"`;
  return e;
}

/** An error defined by a test (fault injection): any code/subcode/message/status. */
export function customError(input: { code: number; subcode?: number; message?: string; type?: string; status?: number; details?: string }): GraphError {
  const extra: Partial<GraphErrorBody> = {};
  if (input.subcode !== undefined) extra.error_subcode = input.subcode;
  if (input.details !== undefined) extra.error_data = { details: input.details };
  return err(input.status ?? (input.code === 1 || input.code === 2 ? 500 : 400), input.code, input.message ?? `(#${input.code}) Injected error`, extra, input.type ?? 'OAuthException');
}
