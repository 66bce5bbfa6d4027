// Verify a Navigator webhook with the official Standard Webhooks library (npm: standardwebhooks).
//
// In a receiver (e.g. Express with express.raw({ type: "application/json" })):
//
//   const event = verifyNavigatorWebhook(process.env.NAVIGATOR_WEBHOOK_SECRET, req.headers, req.body);
//   if (!event) return res.sendStatus(400);
//   res.sendStatus(204);          // answer first, work afterwards
//   if (!event.test) queue(event);
//
// Run as a script, it reads {"secret", "headers", "body"} as JSON on standard input and prints the
// verified event's type, or exits with 1 (the project's tests feed it real deliveries).
import { Webhook } from "standardwebhooks";

export function verifyNavigatorWebhook(secret, headers, rawBody) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  try {
    // Verify the raw bytes received, before parsing; the timestamp must be within five minutes.
    return new Webhook(secret).verify(rawBody, lower);
  } catch (error) {
    return null;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const { secret, headers, body } = JSON.parse(input);
  const event = verifyNavigatorWebhook(secret, headers, Buffer.from(body, "utf8"));
  if (!event) {
    console.error("signature not valid");
    process.exit(1);
  }
  console.log(JSON.stringify({ type: event.type, test: Boolean(event.test) }));
}
