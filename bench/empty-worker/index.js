export default {
  async fetch(request) {
    await request.text();
    return new Response('{"accepted":1,"duplicates":0}', { status: 202, headers: { "content-type": "application/json" } });
  },
};
