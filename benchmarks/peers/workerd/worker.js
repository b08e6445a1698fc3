// The peer for the containerless benchmark: the same function as whisk's js:isolate action,
// as a workerd module worker answering POST {n} with {n: 2n}.
function main({n}) { return {n: 2 * n}; }

export default {
  async fetch(request) {
    return Response.json(main(await request.json()));
  },
};
