// Preload (`node --import ./loopback-only.mjs …`) for third-party servers that listen on every interface:
// every TCP listen is bound to 127.0.0.1, and the port actually bound is reported on stderr as
// `LOOPBACK_LISTENING <port>` (start them with PORT=0 for a free port).
import net from 'node:net';
import process from 'node:process';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function loopbackListen(...args) {
  this.once('listening', () => {
    const address = this.address();
    if (address !== null && typeof address === 'object') process.stderr.write(`LOOPBACK_LISTENING ${address.port}\n`);
  });
  const [first, ...rest] = args;
  if (first !== null && typeof first === 'object') return listen.call(this, { ...first, host: '127.0.0.1' }, ...rest);
  const callback = rest.find((arg) => typeof arg === 'function');
  const port = first === undefined ? 0 : Number(first);
  return callback === undefined ? listen.call(this, port, '127.0.0.1') : listen.call(this, port, '127.0.0.1', callback);
};
