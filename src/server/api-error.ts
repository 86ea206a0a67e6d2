// The one error type the HTTP layer turns into a response: a status, a stable machine-readable code
// and a message meant for the person who sent the request. Anything else thrown while handling a
// request is a bug on our side and becomes a 500 whose message reveals nothing internal.

export type ApiErrorCode =
  | 'bad_request' // malformed request line, URL or header
  | 'invalid_json' // the body is not valid JSON
  | 'invalid_field' // a field is missing or has the wrong type or value
  | 'invalid_id' // an image id that is not a non-negative integer
  | 'invalid_image' // the upload is not a decodable image
  | 'invalid_multipart' // a multipart/form-data body that cannot be parsed
  | 'not_found' // unknown route or image id
  | 'method_not_allowed'
  | 'request_timeout' // the body did not arrive in time
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'overloaded' // the inference queue is full
  | 'inference_timeout' // a job took longer than the per-request limit
  | 'shutting_down'
  | 'internal';

export class ApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;
  /** Extra response headers (Allow for 405, Retry-After for 503). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: ApiErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** The JSON body of every error response. */
export interface ErrorBody {
  error: { code: ApiErrorCode; message: string };
}

export function errorBody(err: ApiError): ErrorBody {
  return { error: { code: err.code, message: err.message } };
}

/** 400 for a field of a JSON or form body that is missing or wrong. */
export function invalidField(message: string): ApiError {
  return new ApiError(400, 'invalid_field', message);
}
