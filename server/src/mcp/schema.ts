/**
 * Tool input schemas: zod schemas derived from the protocol's own (REQUESTS[method].params), turned into
 * the JSON Schema MCP clients read, and the check of a call's arguments against them. A bad argument is
 * the protocol's invalid-params error (-32602) naming the field, raised before anything reaches the gate.
 */
import { z } from 'zod';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { REQUESTS, type RequestMethod } from '../../../shared/src/protocol.js';

/** MCP wants `{ type: "object", … }`; zod's input view, so optional fields are not listed as required. */
export interface ToolInputJsonSchema {
  readonly type: 'object';
  readonly [key: string]: unknown;
}

export function toInputJsonSchema(schema: z.ZodObject): ToolInputJsonSchema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return { ...json, type: 'object' };
}

/**
 * A JSON-RPC error the SDK sends as is (its `code`, `message` and `data`). The SDK's McpError would prefix
 * "MCP error -32602:" to the words, and the client prefixes it again.
 */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: object,
  ) {
    super(message);
  }
}

export const invalidParamsError = (message: string, data?: object): RpcError =>
  new RpcError(ErrorCode.InvalidParams, message, data);

function invalidParams(tool: string, error: z.ZodError, fieldOf: (p: PropertyKey[]) => string): RpcError {
  const issue = error.issues[0];
  const field = issue && issue.path.length ? fieldOf(issue.path) : 'arguments';
  return invalidParamsError(`${tool}: ${field} ${issue?.message ?? 'is invalid'}`, { tool, field });
}

const dotted = (p: PropertyKey[]): string => p.map(String).join('.');

/** The tool's arguments checked against its schema; an invalid-params RpcError naming the field if not. */
export function parseArguments<S extends z.ZodObject>(tool: string, schema: S, args: unknown): z.output<S> {
  const res = schema.safeParse(args ?? {});
  if (!res.success) throw invalidParams(tool, res.error, dotted);
  return res.data;
}

/**
 * The params built from the arguments, checked against the method's own schema too (it holds rules a
 * derived shape cannot carry, such as RustMentor's "path or text"); `fieldOf` maps a params path back to
 * the tool's argument names.
 */
export function checkParams(
  tool: string,
  method: RequestMethod,
  params: unknown,
  fieldOf: (p: PropertyKey[]) => string = dotted,
): void {
  const res = (REQUESTS[method].params as z.ZodType).safeParse(params ?? {});
  if (!res.success) throw invalidParams(tool, res.error, fieldOf);
}
