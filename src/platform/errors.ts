/** Typed domain errors; the one error handler in app.ts maps them to HTTP answers. */
export class NotFoundError extends Error {
  readonly status = 404;
  constructor(message = 'Not found') {
    super(message);
    this.name = 'NotFoundError';
  }
}

export class ForbiddenError extends Error {
  readonly status = 403;
  constructor(message = 'Forbidden') {
    super(message);
    this.name = 'ForbiddenError';
  }
}

/** Bad input: `fields` maps form field names to message keys for the i18n layer. */
export class ValidationError extends Error {
  readonly status = 422;
  constructor(
    readonly fields: Record<string, string>,
    message = 'Invalid input',
  ) {
    super(message);
    this.name = 'ValidationError';
  }
}

export class ConflictError extends Error {
  readonly status = 409;
  constructor(message = 'Conflict') {
    super(message);
    this.name = 'ConflictError';
  }
}
