import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs. Anything that could carry a credential is redacted by path, and request
 * logging (see app.ts) records method, route and status only: never bodies, cookies or
 * query strings, which may hold tokens (webhook verify tokens, OAuth codes).
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: {
        paths: [
          'password',
          '*.password',
          'password_hash',
          '*.password_hash',
          'token',
          '*.token',
          'access_token',
          '*.access_token',
          '*.accessToken',
          'cookie',
          '*.cookie',
          'headers.cookie',
          'req.headers.cookie',
          'req.headers.authorization',
          'authorization',
          '*.authorization',
          'secret',
          '*.secret',
          '*.appSecret',
          'csrf',
          '*.csrf',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
