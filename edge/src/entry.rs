//! The Workers fetch handler: adapts `worker::Request` to [`crate::route`].

use worker::{event, Context, Env, Headers, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    let method = req.method().to_string();
    let path = req.path();
    let answer = crate::route(&method, &path);
    let headers = Headers::new();
    headers.set("content-type", "application/json; charset=utf-8")?;
    headers.set("access-control-allow-origin", "*")?;
    let body = if method == "HEAD" {
        String::new()
    } else {
        answer.body
    };
    Ok(Response::ok(body)?
        .with_status(answer.status)
        .with_headers(headers))
}
