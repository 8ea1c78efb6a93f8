// Runs graphql-http's GraphQL-over-HTTP server audits against the URL in argv[2] and prints
// one JSON document: {"results": [{id, status, name, reason?, responseStatus?, contentType?}]}.
// status is ok | notice (a MAY failed) | warn (a SHOULD failed) | error (a MUST failed).
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql endpoint url>');
  process.exit(2);
}

const results = await auditServer({ url });
const summary = results.map((result) => {
  const row = { id: result.id, status: result.status, name: result.name };
  if (result.status !== 'ok') {
    row.reason = result.reason;
    row.responseStatus = result.response?.status;
    row.contentType = result.response?.headers?.get('content-type');
  }
  return row;
});
console.log(JSON.stringify({ results: summary }, null, 1));
