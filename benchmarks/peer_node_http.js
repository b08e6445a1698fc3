// The peer: the same noop function in a bare node:http server on 127.0.0.1.
'use strict';
const http = require('http');
// noop for {}, and the isolate benchmark's function for {n}
function main(params) { return params.n === undefined ? {} : {n: 2 * params.n}; }
const port = Number(process.argv[2] || 0);
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', c => { body += c; });
  req.on('end', () => {
    const out = JSON.stringify(main(body ? JSON.parse(body) : {}));
    res.writeHead(200, {'Content-Type': 'application/json'});
    res.end(out);
  });
});
server.listen(port, '127.0.0.1', () => console.log(server.address().port));
