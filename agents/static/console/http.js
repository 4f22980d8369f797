// JSON to and from the console's own HTTP API, with the CSRF token. A refusal throws an Error
// carrying the server's code and message (or the status, when the answer is not JSON).

export function csrf() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function call(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch { /* an error page, not JSON */ }
  if (!response.ok) {
    const error = typeof data.error === "string" ? { code: "invalid", message: data.error }
      : data.error || { code: "failed", message: `The server answered ${response.status}.` };
    throw Object.assign(new Error(error.message), error);
  }
  return data;
}
