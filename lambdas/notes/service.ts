/** Notes, the sample per-user data: always scoped by the caller's user id, whichever token kind they used. */
import { type Clock, isoTime } from '../shared/clock';
import { NotFoundError } from '../shared/errors';
import type { Caller } from '../shared/resolver';
import type { CreateNoteBody, Note } from './schemas';
import type { NotesRepository } from './store';

export interface NotesDeps {
  readonly notes: NotesRepository;
  readonly clock: Clock;
  readonly newId: () => string;
}

/** The caller's notes, oldest first. */
export async function listNotes(deps: NotesDeps, caller: Caller): Promise<Note[]> {
  const notes = await deps.notes.list(caller.userId);
  return notes.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

export async function createNote(deps: NotesDeps, caller: Caller, body: CreateNoteBody): Promise<Note> {
  const note: Note = { id: deps.newId(), text: body.text, createdAt: isoTime(deps.clock) };
  // A random UUID does not collide; the condition is there so that if one ever did, nothing is overwritten.
  if (!(await deps.notes.create(caller.userId, note))) throw new Error('Note id collision');
  return note;
}

export async function getNote(deps: NotesDeps, caller: Caller, noteId: string): Promise<Note> {
  const note = await deps.notes.get(caller.userId, noteId);
  if (!note) throw new NotFoundError('No such note');
  return note;
}

export async function deleteNote(deps: NotesDeps, caller: Caller, noteId: string): Promise<void> {
  if (!(await deps.notes.delete(caller.userId, noteId))) throw new NotFoundError('No such note');
}
