/**
 * Publishes product events on the custom bus. PutEvents reports per-entry failures in its response instead of
 * throwing (FailedEntryCount > 0 with an HTTP 200), so a caller that ignored the response would believe an
 * event went out when it did not; here any failed entry throws.
 */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE } from './contract/names';
import type { EventDetailType } from './contract/events';

export interface ProductEvent {
  readonly detailType: EventDetailType;
  /** The event's `detail`; carries its own `eventId`. Never a secret or a token. */
  readonly detail: { readonly eventId: string } & Readonly<Record<string, unknown>>;
}

export interface EventPublisher {
  publish(event: ProductEvent): Promise<void>;
}

export class EventPublishError extends Error {
  override readonly name = 'EventPublishError';
  constructor(
    message: string,
    readonly errorCode?: string,
  ) {
    super(message);
  }
}

export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async publish(event: ProductEvent): Promise<void> {
    const out = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: EVENT_SOURCE,
            DetailType: event.detailType,
            Detail: JSON.stringify(event.detail),
            EventBusName: this.eventBusName,
          },
        ],
      }),
    );
    if ((out.FailedEntryCount ?? 0) > 0 || out.Entries?.some((e) => e.ErrorCode)) {
      const failed = out.Entries?.find((e) => e.ErrorCode);
      throw new EventPublishError(
        `PutEvents rejected ${event.detailType} ${event.detail.eventId}: ${failed?.ErrorCode ?? 'unknown'}`,
        failed?.ErrorCode,
      );
    }
  }
}
