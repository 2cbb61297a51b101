package memory

import (
	"maps"

	"github.com/streambind/streambind/stream"
)

// item is a message in a queue.
type item struct {
	env stored
	// seq orders the messages of one destination (assigned at Send).
	seq uint64
	// ts is the send time, Unix milliseconds.
	ts int64
	// part is the partition from the partition header, or -1.
	part int32
	// route is the ordering route (mixed partition, or key hash); valid when
	// hasRoute.
	route    uint32
	hasRoute bool
}

// stored is an Envelope as a queue holds it: without the Received a
// consumer fills in (an Envelope's Received doubles its size, and a
// queue's memory with it), unless the sender gave one (given, rare: a
// test's). The Envelope's keyOnly mark is a producer's matter and is not
// kept.
type stored struct {
	Payload       []byte
	Headers       stream.Headers
	Key           []byte
	NativeHeaders map[string]any
	given         *stream.Received
	// stamp is the id and contentType headers the producer gave a message
	// sent without them, kept beside Headers (the sender's map, never
	// modified) rather than in a copy of them: see [stored.headers].
	stamp stamp
}

// stamp is the headers a producer adds to a message sent without an id or
// a contentType header. Kept apart from the sender's headers, they cost a
// consumer bound with stream.ConsumerSpec.LazyHeaders (the App's payload
// consumers) no map a message: it reads them through the envelope's lazy
// headers (a *stamp, stream.LazyHeaders); every other reader gets them in
// a map (stored.headers). Both headers of a message sent without headers
// were two allocations a hop (a map and its slot group), half of the
// in-process pipeline's allocations.
type stamp struct{ id, contentType string }

// Lookup implements [stream.LazyHeaders].
func (s *stamp) Lookup(k string) (string, bool) {
	switch {
	case k == stream.HeaderID && s.id != "":
		return s.id, true
	case k == stream.HeaderContentType && s.contentType != "":
		return s.contentType, true
	}
	return "", false
}

// Load implements [stream.LazyHeaders].
func (s *stamp) Load() stream.Headers {
	if *s == (stamp{}) {
		return nil
	}
	return s.into(make(stream.Headers, 2))
}

// into adds the stamped headers to h and returns it.
func (s *stamp) into(h stream.Headers) stream.Headers {
	if s.id != "" {
		h[stream.HeaderID] = s.id
	}
	if s.contentType != "" {
		h[stream.HeaderContentType] = s.contentType
	}
	return h
}

// headers returns every header of s: the sender's, and the stamped ones in
// a new map when there are any (the sender's map is not modified).
func (s *stored) headers() stream.Headers {
	if s.stamp == (stamp{}) {
		return s.Headers
	}
	h := make(stream.Headers, len(s.Headers)+2)
	maps.Copy(h, s.Headers)
	return s.stamp.into(h)
}

// store returns env as a queue holds it. A Received it carries costs an
// allocation.
func store(env stream.Envelope) stored {
	s := stored{Payload: env.Payload, Headers: env.Headers, Key: env.Key, NativeHeaders: env.NativeHeaders}
	if env.Received != (stream.Received{}) {
		r := env.Received
		s.given = &r
	}
	return s
}

// envelope returns s as an Envelope, with the Received the sender gave and
// every header in Headers.
func (s *stored) envelope() stream.Envelope {
	env := stream.Envelope{Payload: s.Payload, Headers: s.headers(), Key: s.Key, NativeHeaders: s.NativeHeaders}
	if s.given != nil {
		env.Received = *s.given
	}
	return env
}

// deque is a growable ring buffer of items. Its zero value is empty. It is
// not safe for concurrent use (its group's mutex guards it).
type deque struct {
	buf  []item // len is 0 or a power of two
	head int
	n    int
}

func (d *deque) len() int { return d.n }

// at returns the i-th item from the front (0 <= i < len).
func (d *deque) at(i int) *item { return &d.buf[(d.head+i)&(len(d.buf)-1)] }

func (d *deque) grow() {
	size := 2 * len(d.buf)
	if size < 16 {
		size = 16
	}
	buf := make([]item, size)
	for i := 0; i < d.n; i++ {
		buf[i] = *d.at(i)
	}
	d.buf, d.head = buf, 0
}

func (d *deque) pushBack(it item) {
	if d.n == len(d.buf) {
		d.grow()
	}
	*d.at(d.n) = it
	d.n++
}

func (d *deque) pushFront(it item) {
	if d.n == len(d.buf) {
		d.grow()
	}
	d.head = (d.head - 1) & (len(d.buf) - 1)
	d.n++
	*d.at(0) = it
}

// removeAt removes and returns the i-th item, shifting the i items before
// it one place back.
func (d *deque) removeAt(i int) item {
	it := *d.at(i)
	for j := i; j > 0; j-- {
		*d.at(j) = *d.at(j - 1)
	}
	*d.at(0) = item{} // do not retain the payload
	d.head = (d.head + 1) & (len(d.buf) - 1)
	d.n--
	return it
}

// drain removes and returns all items, front first.
func (d *deque) drain() []item {
	out := make([]item, d.n)
	for i := range out {
		out[i] = *d.at(i)
	}
	*d = deque{}
	return out
}
