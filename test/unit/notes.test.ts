import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNotesHandler } from '../../lambdas/notes/handler';
import { Note, NoteList } from '../../lambdas/notes/schemas';
import type { NotesDeps } from '../../lambdas/notes/service';
import { DynamoNotesStore } from '../../lambdas/notes/store';
import { fullScope } from '../../lambdas/shared/contract/names';
import { FakeClock, MapLookup, apiEvent, bodyOf, clientClaims, userClaims } from './support/api';
import { FakeDynamo } from './support/fake-dynamo';

const NOTES_TABLE = 'devaccess-notes';
const ALICE = 'a1a1a1a1-0000-4000-8000-000000000001';
const BOB = 'b0b0b0b0-0000-4000-8000-000000000002';
const ALICE_CLIENT = 'alice0client0000000000000a';
const BOB_CLIENT = 'bob0client00000000000000bb';

let dynamo: FakeDynamo;
let clock: FakeClock;

beforeEach(() => {
  dynamo = new FakeDynamo({ [NOTES_TABLE]: { partition: 'userId', sort: 'noteId' } });
  clock = new FakeClock();
});

afterEach(() => {
  dynamo.restore();
});

function api() {
  const deps: NotesDeps = { notes: new DynamoNotesStore(dynamo.client(), NOTES_TABLE), clock, newId: () => crypto.randomUUID() };
  const lookup = new MapLookup(
    { alice: ALICE, bob: BOB },
    { [ALICE_CLIENT]: { userId: ALICE, status: 'active' }, [BOB_CLIENT]: { userId: BOB, status: 'active' } },
  );
  return createNotesHandler(() => deps, () => lookup);
}

const asAlice = userClaims('alice');
const asBob = userClaims('bob');
const asBobsClient = clientClaims(BOB_CLIENT);

async function createNote(claims: Record<string, string>, text: string) {
  const result = await api()(apiEvent('createNote', { claims, body: { text } }));
  expect(result.statusCode).toBe(201);
  return Note.parse(bodyOf(result));
}

describe('notes', () => {
  it('creates a note owned by the caller', async () => {
    const note = await createNote(asAlice, 'buy milk');
    expect(note).toEqual({ id: expect.any(String), text: 'buy milk', createdAt: '2026-12-04T10:00:00.000Z' });
    expect(dynamo.item(NOTES_TABLE, { userId: ALICE, noteId: note.id })).toMatchObject({ text: 'buy milk' });
    const put = dynamo.mock.commandCalls(PutCommand)[0]?.args[0].input;
    expect(put?.ConditionExpression).toBe('attribute_not_exists(noteId)');
  });

  it('stores a note made with a client token under the user the client is bound to', async () => {
    const note = await createNote(clientClaims(ALICE_CLIENT), 'from CI');
    expect(dynamo.item(NOTES_TABLE, { userId: ALICE, noteId: note.id })).toBeDefined();
  });

  it('lists only the caller\'s notes, oldest first, with a consistent read', async () => {
    const first = await createNote(asAlice, 'one');
    clock.current += 1000;
    const second = await createNote(clientClaims(ALICE_CLIENT), 'two');
    await createNote(asBob, 'bob\'s');
    const result = await api()(apiEvent('listNotes', { claims: asAlice }));
    expect(NoteList.parse(bodyOf(result)).notes).toEqual([first, second]);
    const query = dynamo.mock.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(query?.ConsistentRead).toBe(true);
    expect(query?.ExpressionAttributeValues).toEqual({ ':userId': ALICE });
  });

  it('reads one of the caller\'s notes', async () => {
    const note = await createNote(asAlice, 'read me');
    const result = await api()(apiEvent('getNote', { claims: clientClaims(ALICE_CLIENT), pathParameters: { id: note.id } }));
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual(note);
    expect(dynamo.mock.commandCalls(GetCommand)[0]?.args[0].input.ConsistentRead).toBe(true);
  });

  it('deletes one of the caller\'s notes, then answers 404 for it', async () => {
    const note = await createNote(asAlice, 'delete me');
    const first = await api()(apiEvent('deleteNote', { claims: asAlice, pathParameters: { id: note.id } }));
    const again = await api()(apiEvent('deleteNote', { claims: asAlice, pathParameters: { id: note.id } }));
    expect(first.statusCode).toBe(204);
    expect(again.statusCode).toBe(404);
    expect(dynamo.item(NOTES_TABLE, { userId: ALICE, noteId: note.id })).toBeUndefined();
  });

  it('answers 404 for a note that does not exist', async () => {
    const result = await api()(
      apiEvent('getNote', { claims: asAlice, pathParameters: { id: '0f8fad5b-d9cb-469f-a165-70867728950e' } }),
    );
    expect(result.statusCode).toBe(404);
    expect(bodyOf(result).error.code).toBe('not_found');
  });

  describe('object-level authorization (BOLA)', () => {
    it.each([
      ['a user token', asBob],
      ['a client token', asBobsClient],
    ])('gives another user %s a 404 for the note, on read and on delete, and leaves it alone', async (_kind, claims) => {
      const note = await createNote(asAlice, 'private');
      const read = await api()(apiEvent('getNote', { claims, pathParameters: { id: note.id } }));
      const del = await api()(apiEvent('deleteNote', { claims, pathParameters: { id: note.id } }));
      const listed = await api()(apiEvent('listNotes', { claims }));
      expect(read.statusCode).toBe(404);
      expect(del.statusCode).toBe(404);
      expect(bodyOf(listed).notes).toEqual([]);
      expect(dynamo.item(NOTES_TABLE, { userId: ALICE, noteId: note.id })).toMatchObject({ text: 'private' });
      // Every lookup was keyed by the caller, never by the owner.
      const keys = [
        ...dynamo.mock.commandCalls(GetCommand).map((c) => c.args[0].input.Key?.['userId']),
        ...dynamo.mock.commandCalls(DeleteCommand).map((c) => c.args[0].input.Key?.['userId']),
      ];
      expect(keys).toEqual([BOB, BOB]);
    });

    it('refuses a body that tries to choose the owner', async () => {
      const result = await api()(apiEvent('createNote', { claims: asBob, body: { text: 'x', userId: ALICE } }));
      expect(result.statusCode).toBe(400);
      expect(bodyOf(result).error.field).toBe('body.userId');
      expect(dynamo.all(NOTES_TABLE)).toEqual([]);
    });
  });

  it.each([
    [{ text: '' }, 'body.text'],
    [{ text: '   ' }, 'body.text'],
    [{ text: 'x'.repeat(4001) }, 'body.text'],
    [{ text: 42 }, 'body.text'],
    [{ text: 'half a pair \ud800' }, 'body.text'],
    [{}, 'body.text'],
    [undefined, 'body'],
    [null, 'body'],
  ])('refuses the body %j', async (body, field) => {
    const result = await api()(apiEvent('createNote', { claims: asAlice, body }));
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result).error.field).toBe(field);
  });

  it('accepts a note with characters outside the Basic Multilingual Plane', async () => {
    const note = await createNote(asAlice, 'surrogate pair \u{1F600}');
    expect(note.text).toBe('surrogate pair \u{1F600}');
  });

  it('accepts a note of exactly 4000 characters', async () => {
    const note = await createNote(asAlice, 'x'.repeat(4000));
    expect(note.text).toHaveLength(4000);
  });

  it('needs the write scope to create and delete, and the read scope to list', async () => {
    const readOnly = clientClaims(ALICE_CLIENT, fullScope('read'));
    const writeOnly = clientClaims(ALICE_CLIENT, fullScope('write'));
    expect((await api()(apiEvent('createNote', { claims: readOnly, body: { text: 'x' } }))).statusCode).toBe(403);
    expect((await api()(apiEvent('listNotes', { claims: writeOnly }))).statusCode).toBe(403);
    expect((await api()(apiEvent('createNote', { claims: writeOnly, body: { text: 'x' } }))).statusCode).toBe(201);
  });
});
