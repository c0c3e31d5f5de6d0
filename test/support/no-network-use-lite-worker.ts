// Runs the real USE-lite worker with every way out to the network replaced by a function that throws, so a
// load or an embedding that tried to download anything fails the test that uses it.
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

function blocked(what: string): () => never {
  return () => {
    throw new Error(`network access attempted in the USE-lite worker: ${what}`);
  };
}
const patch = (obj: object, key: string, what: string): void => {
  Object.defineProperty(obj, key, { value: blocked(what), configurable: true, writable: true });
};
patch(http, 'request', 'http.request');
patch(http, 'get', 'http.get');
patch(https, 'request', 'https.request');
patch(https, 'get', 'https.get');
patch(net.Socket.prototype, 'connect', 'net.Socket.connect');
patch(dns, 'lookup', 'dns.lookup');
patch(globalThis, 'fetch', 'fetch');

await import('../../server/src/rag/embedder-use-lite-worker.js');
