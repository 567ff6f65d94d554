/**
 * The notes table (partition `userId`, sort `noteId`). Every operation takes the owner's user id as part of the
 * key, so a note can only ever be read or deleted by its owner: another user's note id is simply not found.
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { awsErrorName } from '../shared/aws-errors';
import type { Note } from './schemas';

export interface NotesRepository {
  list(userId: string): Promise<Note[]>;
  get(userId: string, noteId: string): Promise<Note | undefined>;
  /** Writes a new note; `false` when the id is taken (never overwrites). */
  create(userId: string, note: Note): Promise<boolean>;
  /** Deletes a note; `false` when the user has no such note. */
  delete(userId: string, noteId: string): Promise<boolean>;
}

interface NoteItem {
  readonly userId: string;
  readonly noteId: string;
  readonly text: string;
  readonly createdAt: string;
}

function toNote(item: NoteItem): Note {
  return { id: item.noteId, text: item.text, createdAt: item.createdAt };
}

export class DynamoNotesStore implements NotesRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async list(userId: string): Promise<Note[]> {
    const notes: Note[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'userId = :userId',
          ExpressionAttributeValues: { ':userId': userId },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      notes.push(...((out.Items ?? []) as NoteItem[]).map(toNote));
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return notes;
  }

  async get(userId: string, noteId: string): Promise<Note | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { userId, noteId }, ConsistentRead: true }),
    );
    return out.Item ? toNote(out.Item as NoteItem) : undefined;
  }

  async create(userId: string, note: Note): Promise<boolean> {
    const item: NoteItem = { userId, noteId: note.id, text: note.text, createdAt: note.createdAt };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(noteId)',
        }),
      );
      return true;
    } catch (err) {
      if (awsErrorName(err) === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  async delete(userId: string, noteId: string): Promise<boolean> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { userId, noteId },
          ConditionExpression: 'attribute_exists(noteId)',
        }),
      );
      return true;
    } catch (err) {
      if (awsErrorName(err) === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }
}
