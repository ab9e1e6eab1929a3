/**
 * The demo host Worker: a small help desk whose tenants install Berth plugins.
 * Its exports are what `wrangler.jsonc` and `ctx.exports` refer to by name.
 *
 * @module
 */
import { createApi } from "../framework/index.ts";
import { helpDesk } from "./host.ts";
import { registerTicketRoutes } from "./routes.ts";

export { BerthLogTail, BerthStorage, RegistryObject } from "../framework/index.ts";
export { DemoEgress, TicketsRead, TicketsWrite } from "./capabilities.ts";
export { HelpDeskTenant } from "./help-desk-tenant.ts";

export default createApi(helpDesk, { extend: registerTicketRoutes });
