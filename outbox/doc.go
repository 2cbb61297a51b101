// Package outbox is a transactional outbox on PostgreSQL: a message is
// stored in a table inside the transaction that changes the application's
// data, and a relay sends it through the app's binders once that
// transaction committed. The data change and the message happen together
// or not at all, without a distributed transaction.
//
//	loaded, _ := config.Load(config.Options{})   // application.yaml, env
//	app, _ := stream.NewApp(loaded.Stream, fns, opts...)
//	cfg, _ := outbox.FromConfig(loaded)          // the "outbox" section
//	ob, _ := outbox.New(app, cfg, outbox.Options{})
//	pool, _ := pgxpool.New(ctx, dsn)             // your application's pool
//	_ = outbox.Migrate(ctx, pool, cfg.Table)     // once, at deployment or start
//	...
//	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
//		if _, err := tx.Exec(ctx, "INSERT INTO orders ...", ...); err != nil {
//			return err
//		}
//		return ob.Send(ctx, tx, "orders-out", order, outbox.Key(order.CustomerID))
//	})
//
// The "outbox" section of application.yaml ([FromConfig], [Config]):
//
//	outbox:
//	  table: shop.outbox         # [schema.]name, the name at most 50 characters; default outbox
//	  dsn: postgres://shop@127.0.0.1:5432/shop   # the relay's; required when it runs unless Options.Pool is given; default none
//	  poll-interval: 1s          # an idle relay looks this often without a notification, and waits this long after a failure; at least 10ms; default 1s
//	  batch-size: 100            # rows claimed per transaction, 1 to 10000; default 100
//	  concurrency: 100           # keys of a batch sent at once, 1 to 1024; default 100
//	  send-timeout: 30s          # bound of one send, confirm included; 100ms to 198h50m27.882s; default 30s
//	  relay: true                # false: this instance only writes to the outbox; default true
//
// [Outbox.Send] encodes the value now, exactly as [stream.Bridge.Send]
// would for that binding or destination (content type, converter, headers
// of a stream.Message, key and partition), and stores the
// envelope with the caller's transaction (pgx.Tx, or a database/sql
// transaction through [SQL]). The [Relay] — joined to the app's lifecycle
// by [New] — sends committed rows through the app's bridge, with the
// binder's normal confirms, and deletes each row only after its message
// was confirmed. LISTEN/NOTIFY wakes it when rows commit; it polls every
// poll-interval as well. While its batches keep finding rows it does not
// listen but looks again every 20ms (at once after a full batch).
//
// # Guarantees
//
//   - A message is sent only if the transaction that stored it committed;
//     one stored in a transaction that rolled back is never sent.
//   - At least once: a committed message is sent until the binder
//     confirms it; its row is deleted only after that. A relay that dies
//     (even by SIGKILL) mid-batch loses nothing: its transaction rolls
//     back and the next relay sends the batch's rows again, so at most one
//     batch (batch-size messages) per dead relay is sent twice. Messages
//     carry an "id" header set by Send, the same on every copy, for
//     consumers that must drop duplicates.
//   - Order per key: the messages of one (name, key) — name the binding or
//     destination given to Send, key the message key given (the [Key]
//     option, a stream.Message's or stream.Envelope's Key), never a
//     partitioned binding's partition key, the empty key being one key
//     like any other — are sent in the order of their ids, each only after the
//     previous one was confirmed, by any number of relays at once. Ids are
//     taken in Send order within a transaction, so: the messages of one
//     transaction keep their Send order, and a message whose transaction
//     committed before another transaction called Send is sent before
//     that one's. Of two transactions that overlap, either may go first.
//     A redelivered batch (see above) repeats messages, but never sends a
//     message before an older one of its key that was not yet confirmed.
//     One exception: a relay whose database session ends mid-batch
//     (pg_terminate_backend, a server shutdown) stops sending once its
//     connection learns it, but the send of a key it had started by then
//     (one per key, at most concurrency in all) may arrive after the
//     newer messages of that key sent by the relay that claimed the rows
//     next; a failover to a server without the locks, unseen by the
//     relay, lets it send for up to send-timeout after its claim
//     (docs/outbox.md).
//   - A send that fails (broker down, message refused, send-timeout) leaves
//     the row, counts the attempt in its attempts and last_error columns,
//     and holds back the later messages of its key until it succeeds; the
//     relay retries every poll-interval, forever (more keys failing at
//     once than a batch holds are retried in turn, a batch of them at a
//     time; the other keys' rows behind them go on). A message
//     that can never be sent thus blocks its key, and only its key: the
//     backlog-age metric shows it, and an operator deletes or fixes the
//     row. Every failed send is counted; its WARN is rate-limited: the
//     first of a failure (name and error) at once, its repeats at most
//     once a minute with their count (docs/outbox.md).
//   - A row whose stored headers cannot be read (written by hand) is set
//     aside — dead_at set, logged at WARN, counted — and its key goes on.
//   - A relay that freezes mid-batch holds its rows' locks (and so their
//     keys' later rows) for at most 3 x send-timeout: the claim sets
//     idle_in_transaction_session_timeout, and PostgreSQL then rolls the
//     frozen relay's transaction back.
//   - A database that stops answering (a hung server, a network that drops
//     packets) fails the relay's batch within send-timeout, each database
//     round trip being bounded by it: readiness goes down, and the relay
//     sends again by itself once the database answers. Connecting is
//     bounded too: the pool opened from dsn gives up a connection attempt
//     after send-timeout (at least 10s) unless the DSN sets
//     connect_timeout above 0.
//   - A pooled connection whose session ended while idle
//     (pg_terminate_backend, a server restart) fails no batch: the relay
//     claims on another connection.
//   - Header keys and values are bytes: not valid UTF-8, or holding NUL,
//     they arrive as a direct send delivers them.
//
// Messages of different keys are sent concurrently (up to concurrency
// keys at once) and may arrive in any order.
//
// See docs/outbox.md for the configuration, metrics and operations.
package outbox
