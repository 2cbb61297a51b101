package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/stream"
)

// declareGroup makes the durable consumers of a producer's required group
// g that do not exist yet, named and filtered as the group's consumers
// would make them: DurableName(g) for an unpartitioned producer, and for
// a partitioned one DurableName(g, i) filtering partition i for every
// i < partition-count (what the group's instances read with instance-count
// equal to partition-count, the default; SCSt's required-groups on
// RabbitMQ likewise declares a queue per partition). A consumer that
// exists is left as it is: the group's consumers made it with their own
// settings (ack-wait, max-deliver, max-ack-pending), which a producer —
// knowing only the defaults — must not reset.
func (bd *Binder) declareGroup(ctx context.Context, c *connection, ref *streamRef, spec stream.ProducerSpec, g string) error {
	cs, err := parseConsumer(spec.Binding, nil)
	if err != nil {
		return err
	}
	dest := spec.Destination
	var cfgs []jetstream.ConsumerConfig
	if spec.Producer.IsPartitioned() {
		for i := range max(spec.Producer.PartitionCount, 1) {
			cfg, err := durableConfig(dest, ref, g, i, []int{i}, cs)
			if err != nil {
				return err
			}
			cfgs = append(cfgs, cfg)
		}
	} else {
		cfg, err := durableConfig(dest, ref, g, -1, nil, cs)
		if err != nil {
			return err
		}
		cfgs = append(cfgs, cfg)
	}
	for _, cfg := range cfgs {
		_, err := c.js.Consumer(ctx, ref.name, cfg.Durable)
		if err == nil {
			continue // the group's own: kept as it is
		}
		if !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return bd.apiErr(err, "consumer %s on stream %s", cfg.Durable, ref.name)
		}
		advice := sharedStreamAdvice(dest, ref)
		if len(cfg.FilterSubjects) > 1 && !multiFilter(c.nc) {
			return filtersError(c.nc, ref, cfg, advice)
		}
		// Create, not update: a consumer of the group that made it
		// meanwhile wins (NATS 2.9 does not know the action and updates
		// it; that window is the one between the lookup and this).
		_, err = c.js.CreateConsumer(ctx, ref.name, cfg)
		switch {
		case err == nil:
			bd.log.Info("nats: created the durable consumer of a required group", "destination", dest, "stream", ref.name, "consumer", cfg.Durable, "group", g)
		case errors.Is(err, jetstream.ErrConsumerExists):
		case errors.Is(err, jetstream.ErrConsumerMultipleFilterSubjectsNotSupported):
			bd.deleteUnfiltered(c, ref, cfg.Durable)
			return filtersError(c.nc, ref, cfg, advice)
		default:
			return bd.apiErr(err, "create consumer %s on stream %s", cfg.Durable, ref.name)
		}
	}
	return nil
}

// multiFilter reports whether the server nc is connected to lets a
// consumer filter several subjects (NATS 2.10 and later). Unknown (not
// connected, a version it cannot read): true, and the server decides.
func multiFilter(nc *natsgo.Conn) bool {
	v := strings.TrimPrefix(nc.ConnectedServerVersion(), "v")
	f := strings.SplitN(v, ".", 3)
	if len(f) < 2 {
		return true
	}
	major, err1 := strconv.Atoi(f[0])
	minor, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return major > 2 || (major == 2 && minor >= 10)
}

// filtersError is the bind error of a consumer that would filter several
// subjects on a server that cannot, with advice that fits the cause.
func filtersError(nc *natsgo.Conn, ref *streamRef, cfg jetstream.ConsumerConfig, advice string) error {
	v := nc.ConnectedServerVersion()
	if v == "" {
		v = "unknown"
	}
	return fmt.Errorf("consumer %s on stream %s would filter %d subjects (%s), which needs NATS server 2.10 or later (this one: %s): %s",
		cfg.Durable, ref.name, len(cfg.FilterSubjects), strings.Join(cfg.FilterSubjects, ", "), v, advice)
}

// sharedStreamAdvice is what to do when a consumer of dest filters dest and
// dest.> because its stream is not the destination's own.
func sharedStreamAdvice(dest string, ref *streamRef) string {
	return fmt.Sprintf("stream %s holds other subjects than %s's, so its consumers filter both %s and %s.>; give the destination a stream of its own (%s with subjects %s and %s.>), or upgrade the server",
		ref.name, dest, dest, dest, StreamName(dest), dest, dest)
}

// partitionAdvice is what to do when instance index of count would read
// the several partitions parts of partition-count pc.
func partitionAdvice(index, count, pc int, parts []int) string {
	return fmt.Sprintf("instance-index %d of instance-count %d reads partitions %s of partition-count %d (one durable consumer for all of them); run one instance per partition (instance-count %d), or upgrade the server",
		index, count, intList(parts), pc, pc)
}

func intList(ps []int) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ", ")
}

// deleteUnfiltered deletes the consumer name that a server which does not
// know filter_subjects made without any filter — one that would read
// every message of the stream — after a bind that failed for it.
func (bd *Binder) deleteUnfiltered(c *connection, ref *streamRef, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), bd.st.apiTimeout)
	defer cancel()
	if err := c.js.DeleteConsumer(ctx, ref.name, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		bd.log.Error("nats: could not delete the consumer the server made without its subject filters; it reads the whole stream: delete it", "stream", ref.name, "consumer", name, "error", bd.logErr(err))
	}
}

// partitionOfSubject returns n for the subject <dest>.<n>, else -1.
func partitionOfSubject(dest, subject string) int {
	s, ok := strings.CutPrefix(subject, dest+".")
	if !ok || s == "" {
		return -1
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strconv.Itoa(n) != s {
		return -1
	}
	return n
}

// warnTimeout bounds the look-ups of the bind-time partition warnings.
const warnTimeout = 2 * time.Second

// warnUnreadPartitions logs a WARN, when a partitioned producer of dest
// with partition-count count binds, for every partitioned group whose
// durable consumers on the stream (<group>_p<i>, filtering partition
// subjects) leave some of its partitions unread: on NATS instance i of
// instance-count n reads only the partitions below its NATS
// partition-count (default n), so partitions from n on reach nobody when
// the producer has more. Best effort: a look-up that fails is skipped.
func (bd *Binder) warnUnreadPartitions(ctx context.Context, c *connection, ref *streamRef, dest string, count int) {
	ctx, cancel := context.WithTimeout(ctx, warnTimeout)
	defer cancel()
	s, err := c.js.Stream(ctx, ref.name)
	if err != nil {
		return
	}
	covered := map[string]map[int]bool{} // group durable base → partitions read
	l := s.ListConsumers(ctx)
	for ci := range l.Info() {
		base, ok := partitionedBase(ci.Name)
		if !ok {
			continue
		}
		filters := ci.Config.FilterSubjects
		if ci.Config.FilterSubject != "" {
			filters = append(filters, ci.Config.FilterSubject)
		}
		var ps []int
		for _, f := range filters {
			p := partitionOfSubject(dest, f)
			if p < 0 {
				ps = nil
				break
			}
			ps = append(ps, p)
		}
		if len(ps) == 0 {
			continue
		}
		if covered[base] == nil {
			covered[base] = map[int]bool{}
		}
		for _, p := range ps {
			covered[base][p] = true
		}
	}
	if l.Err() != nil {
		return
	}
	bases := make([]string, 0, len(covered))
	for b := range covered {
		bases = append(bases, b)
	}
	sort.Strings(bases)
	for _, b := range bases {
		var missing []int
		for p := range max(count, 1) {
			if !covered[b][p] {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			bd.log.Warn("nats: partitions this producer sends to are read by no durable consumer of a partitioned group: on NATS instance i of instance-count n reads only the partitions p below its NATS partition-count (default n) with p % n == i; set the consumers' instance-count to the producer's partition-count",
				"destination", dest, "stream", ref.name, "durables", b+"_p<i>", "partition-count", count, "unread-partitions", intList(missing))
		}
	}
}

// partitionedBase returns name without its "_p<i>" suffix, and whether it
// has one (the durable of a partitioned consumer).
func partitionedBase(name string) (string, bool) {
	i := strings.LastIndex(name, "_p")
	if i <= 0 {
		return "", false
	}
	n := name[i+2:]
	if _, err := strconv.Atoi(n); err != nil || n == "" || n[0] == '-' || n[0] == '+' {
		return "", false
	}
	return name[:i], true
}

// warnPartitionsBeyond logs a WARN when a partitioned consumer of dest,
// which with its instances reads partitions below pc only, binds to a
// stream that holds messages no instance of it reads: of partitions pc and
// above, or sent unpartitioned to dest itself. Best effort.
func (bd *Binder) warnPartitionsBeyond(ctx context.Context, c *connection, ref *streamRef, dest string, pc int, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, warnTimeout)
	defer cancel()
	s, err := c.js.Stream(ctx, ref.name)
	if err != nil {
		return
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(dest+".*"))
	if err != nil {
		return
	}
	var beyond []int
	for subj, n := range info.State.Subjects {
		if p := partitionOfSubject(dest, subj); p >= pc && n > 0 {
			beyond = append(beyond, p)
		}
	}
	sort.Ints(beyond)
	if len(beyond) > 0 {
		log.Warn("nats: the stream holds messages of partitions that no instance of this partitioned consumer reads: on NATS the instances read only the partitions below partition-count (the NATS consumer property, default instance-count); set instance-count to the producers' partition-count",
			"stream", ref.name, "partition-count", pc, "unread-partitions", intList(beyond))
	}
	if info, err := s.Info(ctx, jetstream.WithSubjectFilter(dest)); err == nil && info.State.Subjects[dest] > 0 {
		log.Warn("nats: the stream holds unpartitioned messages (subject "+dest+"), which no partitioned consumer reads on NATS: send them through a partitioned producer",
			"stream", ref.name, "messages", info.State.Subjects[dest])
	}
}
