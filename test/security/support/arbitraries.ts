/**
 * fast-check arbitraries for fuzzing the API with what a hostile or broken client sends: bodies of random shapes,
 * valid-looking bodies with one field mutated, huge and odd strings (lone surrogates, NUL, bidi controls),
 * prototype-pollution keys, deep nesting, bodies at the size limit, wrong content types, base64 garbage, header
 * values and path ids near the valid patterns. Path ids come from PATH_PARAMS and bodies from the route table, so
 * a new route or path parameter is fuzzed without editing this file; a new route that takes a body must add a
 * valid sample to VALID_BODIES (the suite fails until it does).
 */
import fc from 'fast-check';
import { MAX_BODY_BYTES } from '../../../lambdas/shared/contract/names';
import { PATH_PARAMS, type RouteDef } from '../../../lambdas/shared/contract/routes';
import { MAX_NOTE_LENGTH } from '../../../lambdas/notes/schemas';

type Arb<T> = fc.Arbitrary<T>;

/** Strings that have broken parsers, validators and stores before. */
export const ODD_STRINGS: readonly string[] = [
  '',
  ' ',
  '\t\n',
  '\u0000',
  'a\u0000b',
  '\u200b',
  '\u202eevil',
  '\ufeff',
  '\ud800',
  'x\udfffy',
  '\ud83d',
  '💥',
  'e\u0301',
  'ＡＢＣ',
  'null',
  'undefined',
  'true',
  '0',
  '-1',
  'NaN',
  '1e309',
  '__proto__',
  'constructor',
  'prototype',
  '{}',
  '[]',
  '"',
  '\\',
  "' OR '1'='1",
  '<script>alert(1)</script>',
  '${jndi:ldap://x}',
  '../../etc/passwd',
  '%00',
  '%2F',
  'USER#',
  'CLIENT#x',
  'CRED#',
];

/** A character with a lone surrogate among them, which JSON.stringify escapes and JSON.parse restores. */
const loneSurrogate: Arb<string> = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

/** Long runs of one character: ASCII, 2-byte, 4-byte (a surrogate pair), NUL, space. */
export const longString: Arb<string> = fc
  .tuple(fc.constantFrom('a', 'é', '💥', '\u0000', ' ', '9'), fc.integer({ min: 300, max: 20_000 }))
  .map(([c, n]) => c.repeat(n));

/** Any text, weighted towards the awkward. */
export const anyText: Arb<string> = fc.oneof(
  { arbitrary: fc.string(), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary' }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme' }), weight: 2 },
  { arbitrary: fc.constantFrom(...ODD_STRINGS), weight: 3 },
  { arbitrary: fc.tuple(fc.string(), loneSurrogate, fc.string()).map(([a, s, b]) => `${a}${s}${b}`), weight: 1 },
  { arbitrary: longString, weight: 1 },
);

/** Any JSON value (as JSON.parse can produce it), with odd strings and numbers mixed in. */
export const anyJson: Arb<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }), weight: 4 },
  { arbitrary: anyText, weight: 2 },
  {
    arbitrary: fc.constantFrom<unknown>(0, -0, 1, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, true, false, null, [], {}, [null]),
    weight: 2,
  },
);

/** Keys a body must never be able to use to change identity, prototypes or hidden fields. */
export const POISON_KEYS: readonly string[] = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'userId',
  'username',
  'owner',
  'clientId',
  'client_id',
  'clientSecret',
  'sub',
  'scope',
  'status',
  'admin',
  'isAdmin',
  'pk',
  'sk',
  '',
];

export type Entries = readonly (readonly [string, unknown])[];

/**
 * A JSON object as text, entry by entry, so duplicate keys and a literal `__proto__` key reach JSON.parse exactly as
 * an attacker would send them (an object literal would turn `__proto__` into the prototype instead).
 */
export function objectText(entries: Entries): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`;
}

const scopeName = fc.constantFrom('read', 'write');
const scopeList = fc.uniqueArray(scopeName, { minLength: 1, maxLength: 2 });
const credentialName = fc.stringMatching(/^[A-Za-z0-9 ._-]{1,64}$/).filter((s) => s.trim().length > 0);
const noteText = fc.oneof(
  fc.string({ minLength: 1, maxLength: 200 }).filter((s) => s.trim().length > 0),
  fc.constantFrom('a'.repeat(MAX_NOTE_LENGTH), 'ok 💥 é', 'x'),
);

/**
 * A valid body for every route that takes one, as entries. Optional fields are sometimes left out, so "valid" covers
 * the defaults too.
 */
export const VALID_BODIES: Readonly<Record<string, Arb<Entries>>> = {
  createNote: noteText.map((text) => [['text', text]] as const),
  createCredential: fc
    .record({ name: credentialName, scopes: scopeList }, { requiredKeys: [] })
    .map((body) => Object.entries(body)),
  resetCredential: fc
    .record({ name: credentialName, scopes: scopeList }, { requiredKeys: [] })
    .map((body) => Object.entries(body)),
};

export function validBody(route: RouteDef): Arb<Entries> {
  if (!route.body) return fc.constant([]);
  const valid = VALID_BODIES[route.id];
  if (!valid) throw new Error(`Route ${route.id} takes a body: add a valid sample to VALID_BODIES`);
  return valid;
}

/** One change to a set of entries: a field set to anything, dropped, duplicated with another value, or a poison key added. */
export type EntryMutation =
  | { readonly op: 'set'; readonly index: number; readonly value: unknown }
  | { readonly op: 'drop'; readonly index: number }
  | { readonly op: 'duplicate'; readonly index: number; readonly value: unknown }
  | { readonly op: 'add'; readonly key: string; readonly value: unknown };

export const entryMutation: Arb<EntryMutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), index: fc.nat(), value: anyJson }),
  fc.record({ op: fc.constant('drop' as const), index: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), index: fc.nat(), value: anyJson }),
  fc.record({
    op: fc.constant('add' as const),
    key: fc.oneof({ arbitrary: fc.constantFrom(...POISON_KEYS), weight: 3 }, { arbitrary: anyText, weight: 1 }),
    value: anyJson,
  }),
);

export function mutateEntries(entries: Entries, mutation: EntryMutation): Entries {
  const out = [...entries];
  if (mutation.op === 'add') return [...out, [mutation.key, mutation.value]];
  if (out.length === 0) return [[String(mutation.index), 'value' in mutation ? mutation.value : null]];
  const i = mutation.index % out.length;
  const [key] = out[i] as readonly [string, unknown];
  switch (mutation.op) {
    case 'set':
      out[i] = [key, mutation.value];
      return out;
    case 'drop':
      out.splice(i, 1);
      return out;
    case 'duplicate':
      return [...out, [key, mutation.value]];
  }
}

const deepNesting: Arb<string> = fc
  .tuple(fc.constantFrom('array', 'object', 'field'), fc.integer({ min: 50, max: 20_000 }))
  .map(([kind, depth]) => {
    if (kind === 'array') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
    if (kind === 'object') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    return `{"text":${'['.repeat(depth)}"x"${']'.repeat(depth)}}`;
  });

/** Bodies whose size sits on either side of MAX_BODY_BYTES, in one-byte and multi-byte characters. */
const sizeEdge: Arb<string> = fc
  .tuple(fc.constantFrom('a', 'é', '💥'), fc.integer({ min: -3, max: 3 }), fc.constantFrom('text', 'name'))
  .map(([c, delta, field]) => {
    const frame = `{"${field}":""}`;
    const target = MAX_BODY_BYTES + delta - Buffer.byteLength(frame);
    const width = Buffer.byteLength(c);
    const fill = c.repeat(Math.floor(target / width)) + 'a'.repeat(target % width);
    return `{"${field}":"${fill}"}`;
  });

const garbageJson: Arb<string> = fc.constantFrom(
  '{',
  '}',
  '{"text":}',
  '{"text":"x",}',
  "{'text':'x'}",
  '{"text":"x"}garbage',
  '{"text":"x"}{"text":"y"}',
  '\ufeff{"text":"x"}',
  'NaN',
  '[',
  '"',
  '{"text":"\\ud800"}',
  '{"text":"\\u0000"}',
  '{"__proto__":{"userId":"evil"},"text":"x"}',
  '{"constructor":{"prototype":{"isAdmin":true}}}',
  '{"text":1e999}',
);

/** A valid body for the route (none when it takes none), or one with one or two mutations. */
export function nearValidBodyText(route: RouteDef): Arb<string | null> {
  const valid = validBody(route);
  return fc.oneof(
    { arbitrary: valid.map((entries) => (route.body ? objectText(entries) : null)), weight: 1 },
    {
      arbitrary: fc
        .tuple(valid, fc.array(entryMutation, { minLength: 1, maxLength: 2 }))
        .map(([entries, mutations]) => objectText(mutations.reduce(mutateEntries, entries))),
      weight: 1,
    },
  );
}

/**
 * The text of a request body for a route, or null for none: mostly valid or one mutation away from valid, the rest
 * random JSON, garbage, deep nesting and bodies at the size limit.
 */
export function bodyText(route: RouteDef): Arb<string | null> {
  const valid = validBody(route);
  return fc.oneof(
    { arbitrary: fc.constant(null), weight: 3 },
    { arbitrary: fc.constant(''), weight: 1 },
    { arbitrary: nearValidBodyText(route), weight: 10 },
    { arbitrary: anyJson.map((v) => JSON.stringify(v) ?? 'null'), weight: 3 },
    { arbitrary: valid.map((entries) => JSON.stringify([Object.fromEntries(entries)])), weight: 1 },
    { arbitrary: garbageJson, weight: 2 },
    { arbitrary: anyText, weight: 2 },
    { arbitrary: deepNesting, weight: 1 },
    { arbitrary: sizeEdge, weight: 1 },
  );
}

export interface EncodedBody {
  readonly body: string | null;
  readonly isBase64Encoded: boolean;
}

/** The body as API Gateway could pass it: as text, base64 of the text, or base64 garbage. */
export function encodedBody(text: Arb<string | null>): Arb<EncodedBody> {
  return fc.oneof(
    { arbitrary: text.map((body) => ({ body, isBase64Encoded: false })), weight: 8 },
    {
      arbitrary: text.map((t) => ({
        body: t === null ? null : Buffer.from(t, 'utf8').toString('base64'),
        isBase64Encoded: true,
      })),
      weight: 2,
    },
    {
      arbitrary: fc
        .oneof(fc.base64String(), fc.string(), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')))
        .map((body) => ({ body, isBase64Encoded: true })),
      weight: 1,
    },
  );
}

/** Content-Type values, correct, almost correct and wrong; undefined for none. */
export const contentType: Arb<string | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 2 },
  {
    arbitrary: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json;charset=UTF-16',
      'application/vnd.api+json',
      'application/problem+json',
      'text/plain',
      'text/json',
      'application/jsonp',
      'application/json-patch',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/xml',
      '*/*',
      '',
      ' application/json',
      'application/json, text/plain',
    ),
    weight: 6,
  },
  { arbitrary: fc.mixedCase(fc.constant('application/json')), weight: 1 },
  { arbitrary: anyText, weight: 1 },
);

/** The Content-Type a well-behaved client sends with JSON, or none. */
export const jsonContentType: Arb<string | undefined> = fc.constantFrom(
  undefined,
  'application/json',
  'application/json; charset=utf-8',
);

/** Content-Type header names as clients spell them (header names are case-insensitive). */
export const contentTypeName: Arb<string> = fc.constantFrom('Content-Type', 'content-type', 'CONTENT-TYPE', 'cOnTeNt-TyPe');

/** Idempotency-Key values: valid (1-255 visible ASCII), too long, empty, with spaces or non-ASCII; undefined for none. */
export const idempotencyKey: Arb<string | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 4 },
  { arbitrary: fc.stringMatching(/^[\x21-\x7e]{1,40}$/), weight: 2 },
  {
    arbitrary: fc.constantFrom('k', 'retry-1', 'a'.repeat(255), 'a'.repeat(256), '', ' ', 'has space', 'ключ', '\u0000'),
    weight: 2,
  },
  { arbitrary: anyText, weight: 1 },
);

/** A header value Node's HTTP client can put on the wire: tab and bytes 0x20-0x7E, 0x80-0xFF. */
export const wireHeaderValue: Arb<string> = fc.oneof(
  fc.string({
    unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09)).map((c) =>
      String.fromCharCode(c),
    ),
    maxLength: 100,
  }),
  fc.constantFrom('', ' ', 'null', '__proto__', 'a'.repeat(1500)),
);

export const wireHeaderName: Arb<string> = fc.oneof(
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,30}$/),
  fc.constantFrom(
    'X-HTTP-Method-Override',
    'X-Forwarded-For',
    'X-Forwarded-Host',
    'X-Amzn-Trace-Id',
    'X-Amz-Target',
    'X-User-Id',
    'Cookie',
    'Accept',
    'Accept-Encoding',
    'Origin',
    'Idempotency-Key',
    'Content-Encoding',
    'Transfer-Encoding-X',
  ),
);

/** Extra headers (a small dictionary) for events built in process, where any JSON string value can appear. */
export const extraHeaders: Arb<Record<string, string>> = fc.dictionary(
  fc.oneof(wireHeaderName, fc.constantFrom(...POISON_KEYS)),
  fc.oneof(wireHeaderValue, anyText),
  { maxKeys: 4 },
);

/** One change to a valid string: a character inserted, replaced, dropped, case-flipped, or junk around it. */
const ODD_CHARS = ['A', 'Z', '-', '_', ' ', '/', '.', '%', '+', '\n', '\u0000', 'é', '０', 'g', '{', '#', '\ud800'];

function nearValid(valid: Arb<string>): Arb<string> {
  return fc
    .tuple(
      valid,
      fc.nat(),
      fc.constantFrom('insert', 'replace', 'drop', 'upper', 'prefix', 'suffix'),
      fc.constantFrom(...ODD_CHARS),
    )
    .map(([s, n, op, c]) => {
      const i = s.length === 0 ? 0 : n % s.length;
      switch (op) {
        case 'insert':
          return s.slice(0, i) + c + s.slice(i);
        case 'replace':
          return s.slice(0, i) + c + s.slice(i + 1);
        case 'drop':
          return s.slice(0, i) + s.slice(i + 1);
        case 'upper':
          return s.toUpperCase();
        case 'prefix':
          return c + s;
        case 'suffix':
          return s + c;
        default:
          return s;
      }
    });
}

/**
 * Values for a path parameter of the route table: valid for its pattern, one edit away from valid, over-long,
 * traversal-like and random.
 */
export function pathValue(name: string): Arb<string> {
  const param = PATH_PARAMS[name];
  if (!param) throw new Error(`Path parameter ${name} has no entry in PATH_PARAMS`);
  const valid = fc.stringMatching(new RegExp(param.pattern));
  return fc.oneof(
    { arbitrary: valid, weight: 3 },
    { arbitrary: nearValid(valid), weight: 4 },
    { arbitrary: valid.map((v) => v.repeat(20)), weight: 1 },
    { arbitrary: fc.constantFrom('', '.', '..', '../credentials', 'a/b', '%2e%2e', '*', '$', '0', 'a'.repeat(129)), weight: 1 },
    { arbitrary: anyText, weight: 2 },
  );
}

/** RFC 3986 percent-encoding of a path segment's UTF-8 bytes (lone surrogates become U+FFFD, as on the wire). */
export function percentEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Raw path segments a client could send as they are: malformed percent-encoding, dot segments, matrix params. */
export const rawPathSegment: Arb<string> = fc.constantFrom(
  '%',
  '%zz',
  '%E0%A4%A',
  '%00',
  '%2F',
  '%2f..%2f',
  '..',
  '.',
  '%2e%2e',
  ';x=1',
  'a;b',
  '%C0%AF',
  '%25',
);
