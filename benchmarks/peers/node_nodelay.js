// node_nodelay.js: a preload for benchmarks/compare.sh's client easycodef-node-nodelay,
//   node --require benchmarks/peers/node_nodelay.js benchmarks/peers/easycodef_node.js ...
// It turns Nagle's algorithm off (setNoDelay(true)) on every TLS socket the process opens, and
// changes nothing else: no file of easycodef-node is patched.
//
// Why: easycodef-node (through the `request` library) sends each call in two writes, the second
// one small; with Nagle's algorithm on, that one waits for the ACK of the first, which the
// server's delayed ACK holds back for about 40 ms. Every call then waits about 40 ms whatever
// the machine does. https.Agent opens its sockets with tls.connect, looked up on the module at
// each call, so replacing it here reaches them.
'use strict';

const tls = require('node:tls');

const connect = tls.connect;
globalThis.nodelaySockets = 0;
tls.connect = function connectNoDelay(...args) {
    const socket = connect.apply(this, args);
    socket.setNoDelay(true); // applied once the socket connects, when called before
    ++globalThis.nodelaySockets;
    return socket;
};
