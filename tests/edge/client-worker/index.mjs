// A worker app that reads prompts from the promptshelf worker with `promptshelf/client`.
// GET /check answers what the client got (or the error it threw), for the test to compare
// with the promptshelf worker's own answers.
import { createClient, PromptshelfError } from "../../../pkg/client/client.js";

let client; // one per isolate: its cache outlives a request

export default {
  async fetch(request, env) {
    client ||= createClient({ baseUrl: env.PROMPTSHELF_URL, ttl: 60_000, timeout: 5_000 });
    if (new URL(request.url).pathname !== "/check") return new Response("not found", { status: 404 });
    const fail = (e) => ({ isError: e instanceof PromptshelfError, status: e.status, code: e.code, message: e.message });
    const out = {};
    out.doc = await client.get("prompts/support/reply-to-ticket");
    out.again = (await client.get("prompts/support/reply-to-ticket")) === out.doc;
    out.list = await client.list({ type: "persona", limit: 3 });
    out.search = await client.search("supp", { limit: 3 });
    out.render = await client.render("prompts/sql-helper", { question: "Top 5 customers?", dialect: "SQLite" });
    out.missing = await client.get("no/such-id").catch(fail);
    out.badRender = await client.render("support-agent", {}).catch(fail);
    return Response.json(out);
  },
};
