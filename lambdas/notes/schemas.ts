/** Request and response shapes of the notes routes (also the OpenAPI document's schemas). */
import { z } from 'zod';

export const MAX_NOTE_LENGTH = 4000;

/** POST /notes. Strict: the owner is always the caller, so a body naming a `userId` (or anything else) is refused. */
export const CreateNoteBody = z.strictObject({
  text: z
    .string()
    .min(1)
    .max(MAX_NOTE_LENGTH)
    .refine((t) => t.trim().length > 0, 'must not be blank')
    // A lone UTF-16 surrogate (JSON `"\ud800"`) has no UTF-8 encoding: DynamoDB would refuse the item, so refuse it
    // here as bad input instead of failing the write.
    .refine((t) => !/\p{Cs}/u.test(t), 'must be well-formed Unicode (no lone surrogates)')
    .describe(`The note (1-${MAX_NOTE_LENGTH} characters)`),
});
export type CreateNoteBody = z.infer<typeof CreateNoteBody>;

export const Note = z.strictObject({
  id: z.uuid().describe('Note id'),
  text: z.string(),
  createdAt: z.iso.datetime(),
});
export type Note = z.infer<typeof Note>;

export const NoteList = z.strictObject({ notes: z.array(Note) });
