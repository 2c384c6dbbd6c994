"""The web layer: routers, schemas, the stream; thin over app.rnn, app.tasks and app.training."""
