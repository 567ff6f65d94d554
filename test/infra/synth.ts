/**
 * Builds the stack the way `cdk synth` does (the context of cdk.json, so feature flags match) but without
 * bundling: `aws:cdk:bundling-stacks: []` makes every NodejsFunction skip esbuild, so a synth takes seconds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, CfnElement, type Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { Template } from 'aws-cdk-lib/assertions';
import { DevAccessStack, type DevAccessStackProps } from '../../infra/aws/devaccess-stack';
import { REPO_ROOT } from '../../infra/aws/paths';

/** The "context" block of cdk.json. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}

/** An App with cdk.json's context, extra context, and bundling off. */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...cdkJsonContext(), ...context, 'aws:cdk:bundling-stacks': [] } });
}

export interface Synthesized {
  readonly app: App;
  readonly stack: DevAccessStack;
  readonly template: Template;
}

/** A fresh stack, constructed but not synthesized (enough for checks that walk the construct tree). */
export function buildStack(props: DevAccessStackProps = {}, context: Record<string, unknown> = {}): Omit<Synthesized, 'template'> {
  const app = testApp(context);
  return { app, stack: new DevAccessStack(app, 'DevAccess', props) };
}

/** A fresh stack and its template. */
export function synthStack(props: DevAccessStackProps = {}, context: Record<string, unknown> = {}): Synthesized {
  const app = testApp(context);
  const stack = new DevAccessStack(app, 'DevAccess', props);
  return { app, stack, template: Template.fromStack(stack) };
}

/** The logical id of a construct's CloudFormation resource (its default child for L2 constructs). */
export function logicalId(stack: Stack, construct: IConstruct): string {
  const element = CfnElement.isCfnElement(construct) ? construct : construct.node.defaultChild;
  if (!element || !CfnElement.isCfnElement(element)) throw new Error(`${construct.node.path} has no CfnElement`);
  return stack.resolve(element.logicalId) as string;
}

/**
 * A resolved template value as one string: Fn::Join flattened, `{ Ref: X }` as `<Ref X>`, `Fn::GetAtt` as
 * `<GetAtt X.Attr>`, anything else as JSON. Lets a test compare a tokenized string with an expected text.
 */
export function flatten(node: unknown): string {
  if (typeof node === 'string') return node;
  const n = node as Record<string, unknown>;
  if (Array.isArray(n['Fn::Join'])) {
    const [delimiter, items] = n['Fn::Join'] as [string, unknown[]];
    return items.map(flatten).join(delimiter);
  }
  if (Array.isArray(n['Fn::GetAtt'])) return `<GetAtt ${(n['Fn::GetAtt'] as string[]).join('.')}>`;
  if (typeof n['Ref'] === 'string') return `<Ref ${n['Ref']}>`;
  return JSON.stringify(node);
}

/** `<Ref X>` for a construct, as flatten() writes it. */
export const ref = (stack: Stack, construct: IConstruct): string => `<Ref ${logicalId(stack, construct)}>`;

/** `<GetAtt X.Arn>` (or another attribute) for a construct, as flatten() writes it. */
export const getAtt = (stack: Stack, construct: IConstruct, attribute = 'Arn'): string =>
  `<GetAtt ${logicalId(stack, construct)}.${attribute}>`;

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** Every resource of a type, by logical id. */
export function resourcesOf(template: Template, type: string): Record<string, TemplateResource> {
  return template.findResources(type) as Record<string, TemplateResource>;
}

/** The one resource of a construct. */
export function resourceOf(template: Template, stack: Stack, construct: IConstruct): TemplateResource {
  const id = logicalId(stack, construct);
  const resource = (template.toJSON() as { Resources: Record<string, TemplateResource> }).Resources[id];
  if (!resource) throw new Error(`No resource ${id}`);
  return resource;
}
