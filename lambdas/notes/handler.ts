/** Notes API: list, create, read and delete the caller's notes. */
import { randomUUID } from 'node:crypto';
import { systemClock } from '../shared/clock';
import { dynamoDocumentClient } from '../shared/clients';
import { loadConfig } from '../shared/config';
import { FUNCTIONS } from '../shared/contract/functions';
import { type ProxyHandler, type RouteImpl, createApiHandler, validate } from '../shared/http';
import { type IdentityLookup, IdentityStore } from '../shared/identity-store';
import { CreateNoteBody } from './schemas';
import { type NotesDeps, createNote, deleteNote, getNote, listNotes } from './service';
import { DynamoNotesStore } from './store';

export function notesRoutes(deps: () => NotesDeps): Record<string, RouteImpl> {
  return {
    listNotes: async ({ caller }) => ({ status: 200, body: { notes: await listNotes(deps(), caller) } }),
    createNote: async ({ caller, body }) => {
      const input = validate(CreateNoteBody, body);
      return { status: 201, body: await createNote(deps(), caller, input) };
    },
    getNote: async ({ caller, pathParams }) => ({
      status: 200,
      body: await getNote(deps(), caller, pathParams['id'] as string),
    }),
    deleteNote: async ({ caller, pathParams }) => {
      await deleteNote(deps(), caller, pathParams['id'] as string);
      return { status: 204 };
    },
  };
}

export function createNotesHandler(deps: () => NotesDeps, lookup: () => IdentityLookup): ProxyHandler {
  return createApiHandler({ name: 'notes', routes: notesRoutes(deps), lookup });
}

let built: (NotesDeps & { readonly identity: IdentityStore }) | undefined;

/** Composition root: built at the first request, so importing this module needs no environment. */
function productionDeps(): NotesDeps & { readonly identity: IdentityStore } {
  if (!built) {
    const config = loadConfig(FUNCTIONS.notes.config);
    const db = dynamoDocumentClient();
    built = {
      notes: new DynamoNotesStore(db, config.NOTES_TABLE_NAME),
      identity: new IdentityStore(db, config.IDENTITY_TABLE_NAME),
      clock: systemClock,
      newId: randomUUID,
    };
  }
  return built;
}

export const handler: ProxyHandler = createNotesHandler(productionDeps, () => productionDeps().identity);
