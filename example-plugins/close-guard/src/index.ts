/**
 * close-guard: refuses to close an urgent ticket unless the close request gives a
 * reason of at least `minReasonLength` characters. Tickets of other priorities
 * close as before.
 *
 * It needs no capability: the decision uses only the hook payload and its config.
 *
 * @module
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { HookContext, LifecycleContext, PluginEnv } from "@berth/plugin-sdk";

/** The config fields declared in berth.json. */
export interface CloseGuardConfig {
  /** Characters the trimmed reason needs; the manifest's default is 10. */
  minReasonLength: number;
}

type Env = PluginEnv<CloseGuardConfig>;

/** The payload of the help desk's `ticket.beforeClose` decision hook point. */
export interface CloseRequest {
  ticket: { id: string; title: string; priority: "low" | "normal" | "high" | "urgent" };
  reason?: string;
}

/** A decision result as the help desk's decision hook points expect it. */
export type Decision = { allow: true } | { allow: false; reason: string };

/** The help desk's maximum close reason length, so a larger minimum could never be met. */
const MAX_REASON_LENGTH = 500;

/** The `ticket.beforeClose` decision. */
export class CloseGuard extends WorkerEntrypoint<Env> {
  /** Allows the close unless the ticket is urgent and the trimmed reason is too short. */
  async checkClose(request: CloseRequest, _context: HookContext): Promise<Decision> {
    if (request.ticket.priority !== "urgent") return { allow: true };

    const minimum = this.env.CONFIG.minReasonLength;
    const length = request.reason?.trim().length ?? 0;
    if (length >= minimum) return { allow: true };

    const found = length === 0 ? "none was given" : `this one has ${length}`;
    return { allow: false, reason: `closing an urgent ticket needs a reason of at least ${minimum} characters; ${found}` };
  }
}

/** The lifecycle entrypoint: rejects a `minReasonLength` that is not a whole number from 0 to 500. */
export class Lifecycle extends WorkerEntrypoint<Env> {
  async install(_context: LifecycleContext): Promise<void> {
    validateMinimum(this.env.CONFIG.minReasonLength);
  }

  async configure(_context: LifecycleContext): Promise<void> {
    validateMinimum(this.env.CONFIG.minReasonLength);
  }
}

function validateMinimum(value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_REASON_LENGTH) {
    throw new Error(`config.minReasonLength must be a whole number from 0 to ${MAX_REASON_LENGTH}, not ${value}`);
  }
}
