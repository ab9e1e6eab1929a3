/**
 * webhook-notifier: posts every new ticket as JSON to the webhook URL in its
 * config.
 *
 * The plugin's `fetch` goes through the host's egress, which lets a request out
 * only to a host in the installation's network grant. A refused or failed delivery
 * makes the hook call fail. The host then records the failure on the installation,
 * in its `lastError`, its log and, for a refusal, its `egress.refused` count. The
 * ticket is created either way.
 *
 * @module
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { HookContext, LifecycleContext, PluginEnv } from "@berth/plugin-sdk";

/** The config fields declared in berth.json. */
export interface NotifierConfig {
  /** The webhook URL; `required` in the manifest, so the host never installs without it. */
  url: string;
}

type Env = PluginEnv<NotifierConfig>;

/** A stored ticket as the help desk's `ticket.created` hook point passes it. */
export interface Ticket {
  id: string;
  title: string;
  body: string;
  tags: string[];
  priority: "low" | "normal" | "high" | "urgent";
  requester?: string;
  status: "open" | "closed";
  createdAt: string;
  updatedAt: string;
}

/** The JSON body of every webhook request. */
export interface WebhookBody {
  event: "ticket.created";
  ticket: Pick<Ticket, "id" | "title" | "priority" | "tags">;
}

/** The `ticket.created` subscriber. */
export class Notifier extends WorkerEntrypoint<Env> {
  /**
   * Posts the ticket to the webhook. Raises an `Error` when the egress rejects the
   * request or the webhook responds with a status outside 200-299.
   */
  async notify(ticket: Ticket, _context: HookContext): Promise<void> {
    const target = parseWebhookUrl(this.env.CONFIG.url);
    const body: WebhookBody = {
      event: "ticket.created",
      ticket: { id: ticket.id, title: ticket.title, priority: ticket.priority, tags: ticket.tags },
    };

    const response = await fetch(target, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    await response.body?.cancel();

    // Only the host is logged: webhook paths often carry a secret token.
    if (!response.ok) {
      throw new Error(`the webhook at ${target.host} responded with HTTP ${response.status} for ticket ${ticket.id}`);
    }
    console.log(`sent ticket.created for ${ticket.id} to ${target.host}: HTTP ${response.status}`);
  }
}

/** The lifecycle entrypoint: rejects a config whose `url` is not an http or https URL. */
export class Lifecycle extends WorkerEntrypoint<Env> {
  async install(_context: LifecycleContext): Promise<void> {
    parseWebhookUrl(this.env.CONFIG.url);
  }

  async configure(_context: LifecycleContext): Promise<void> {
    parseWebhookUrl(this.env.CONFIG.url);
  }
}

/**
 * Parses the webhook URL. Raises an `Error` that does not repeat the URL, since
 * it may carry a secret, when it is not an absolute http or https URL.
 */
function parseWebhookUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error("config.url is not a valid URL; set an absolute URL such as https://hooks.example.test/berth");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`config.url must be an https or http URL, not ${url.protocol}`);
  }
  return url;
}
