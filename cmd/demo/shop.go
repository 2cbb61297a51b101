package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/streambind/streambind/stream"
)

// OrderCreated is the event the order service emits.
type OrderCreated struct {
	OrderID    string    `json:"orderId"`
	CustomerID string    `json:"customerId"`
	ProductID  string    `json:"productId"`
	Quantity   int       `json:"quantity"`
	Amount     float64   `json:"amount"`
	CreatedAt  time.Time `json:"createdAt"`
}

// StockReserved is what the inventory service emits.
type StockReserved struct {
	OrderID   string `json:"orderId"`
	ProductID string `json:"productId"`
	Quantity  int    `json:"quantity"`
}

// PaymentCharged is what the payment service emits.
type PaymentCharged struct {
	OrderID    string    `json:"orderId"`
	CustomerID string    `json:"customerId"`
	Amount     float64   `json:"amount"`
	PaidAt     time.Time `json:"paidAt"`
}

// shopOptions are the demo's load settings.
type shopOptions struct {
	orders      int     // 0 = until stopped
	rate        float64 // orders per second, 0 = as fast as possible
	poisonEvery int     // every k-th order has quantity 0; 0 = none
	clock       func() time.Time
	// runID tells this run's orders from those an earlier run left in the
	// broker: order ids are "o-<runID>-<n>". Default: 8 random hex digits.
	runID string
}

// shop registers the five services of the online shop and tracks, by order
// id, what each of them saw.
type shop struct {
	opts    shopOptions
	tracker *tracker
	// log is the app's logger (buildApp sets it; default: discard).
	log *slog.Logger
	// closed stops the order service from placing more orders (in serve
	// mode, before the app stops, so that every placed order is processed).
	closed chan struct{}
	// placed is closed when the order service has stopped placing orders.
	placed chan struct{}
}

func newShop(o shopOptions) *shop {
	if o.clock == nil {
		o.clock = time.Now
	}
	if o.runID == "" {
		o.runID = newRunID()
	}
	return &shop{opts: o, tracker: newTracker(o.runID, o.orders, o.poisonCount()), log: slog.New(slog.DiscardHandler),
		closed: make(chan struct{}), placed: make(chan struct{})}
}

// newRunID returns 8 random hex digits.
func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// orderID is the id of this run's n-th order.
func (o shopOptions) orderID(n int) string { return fmt.Sprintf("o-%s-%d", o.runID, n) }

func (o shopOptions) poisonCount() int {
	if o.poisonEvery <= 0 {
		return 0
	}
	return o.orders / o.poisonEvery
}

func (o shopOptions) isPoison(n int) bool { return o.poisonEvery > 0 && n%o.poisonEvery == 0 }

// register adds the shop's functions to a catalog.
func (s *shop) register(fns *stream.Catalog) {
	stream.AddSource(fns, "placeOrder", s.placeOrders)
	stream.AddFunction(fns, "reserveStock", s.reserveStock)
	stream.AddFunction(fns, "chargePayment", s.chargePayment)
	stream.AddConsumer(fns, "prepareShipment", s.prepareShipment)
	stream.AddConsumer(fns, "notifyCustomer", s.notifyCustomer)
	stream.AddConsumer(fns, "auditDeadLetters", s.auditDeadLetters)
}

// placeOrders is the order service: it emits an "order created" event for
// each order customers place (here: generated at the configured rate).
func (s *shop) placeOrders(ctx context.Context, emit stream.Emitter[OrderCreated]) error {
	defer close(s.placed)
	var tick <-chan time.Time
	if s.opts.rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / s.opts.rate))
		defer t.Stop()
		tick = t.C
	}
	for n := 1; s.opts.orders == 0 || n <= s.opts.orders; n++ {
		select {
		case <-s.closed:
			return nil
		default:
		}
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				return nil
			case <-s.closed:
				return nil
			}
		}
		o := OrderCreated{
			OrderID:    s.opts.orderID(n),
			CustomerID: fmt.Sprintf("c-%d", n%97),
			ProductID:  fmt.Sprintf("p-%d", n%13),
			Quantity:   1 + n%5,
			CreatedAt:  s.opts.clock().UTC(),
		}
		if s.opts.isPoison(n) {
			o.Quantity = 0
		}
		o.Amount = float64(o.Quantity) * 9.99
		// An order the broker did not take is placed again: the customer is
		// told only once it is recorded.
		for {
			err := emit(ctx, o)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			select {
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return nil
			}
		}
		s.tracker.see(stageProduced, o.OrderID, o.Quantity <= 0)
	}
	return nil
}

// errInvalidOrder is what payment says about an order it cannot charge.
var errInvalidOrder = errors.New("invalid order")

func (s *shop) reserveStock(_ context.Context, o OrderCreated) (StockReserved, error) {
	s.tracker.see(stageInventory, o.OrderID, false)
	return StockReserved{OrderID: o.OrderID, ProductID: o.ProductID, Quantity: o.Quantity}, nil
}

func (s *shop) chargePayment(_ context.Context, o OrderCreated) (PaymentCharged, error) {
	if o.Quantity <= 0 {
		// Retrying cannot fix it: straight to the dead-letter queue.
		return PaymentCharged{}, stream.Permanent(fmt.Errorf("order %s: quantity %d: %w", o.OrderID, o.Quantity, errInvalidOrder))
	}
	s.tracker.see(stagePayment, o.OrderID, false)
	return PaymentCharged{OrderID: o.OrderID, CustomerID: o.CustomerID, Amount: o.Amount, PaidAt: s.opts.clock().UTC()}, nil
}

func (s *shop) prepareShipment(_ context.Context, o OrderCreated) error {
	s.tracker.see(stageShipping, o.OrderID, false)
	return nil
}

func (s *shop) notifyCustomer(_ context.Context, p PaymentCharged) error {
	s.tracker.see(stageNotified, p.OrderID, false)
	return nil
}

// auditDeadLetters reads the payment service's dead-letter queue. It takes
// the dead letters as raw bytes, so that none is lost for not decoding: a
// typed input would fail to convert one that is not an order (whatever
// someone published to "orders" that payment could not read is
// dead-lettered as it came), and, audit having no DLQ of its own, the
// dead letter would be dropped. It counts, by order id, those that are
// orders, and the others as undecodable.
func (s *shop) auditDeadLetters(ctx context.Context, m stream.Message[[]byte]) error {
	var o OrderCreated
	err := json.Unmarshal(m.Payload, &o)
	if err == nil && o.OrderID == "" {
		err = errors.New("no orderId")
	}
	if err != nil {
		s.tracker.undecodable()
		// Neither the payload nor the exception headers are logged: they
		// are the sender's data.
		s.log.WarnContext(ctx, "dead letter is not an order: counted as undecodable",
			"bytes", len(m.Payload), "contentType", m.Headers.Get(stream.HeaderContentType), "error", err)
		return nil
	}
	s.tracker.see(stageDLQ, o.OrderID, false)
	return nil
}

// Stages the tracker counts.
const (
	stageProduced = iota
	stageInventory
	stageShipping
	stagePayment
	stageNotified
	stageDLQ
	numStages
)

// tracker records which order ids each stage saw, to count losses and
// duplicates by unique order id. Only this run's orders (ids starting with
// "o-<runID>-") are counted: messages an earlier run left in the broker
// are handled by the services like any other but counted apart, as
// "other", so that they are neither duplicates nor a reason for lost > 0.
type tracker struct {
	mu       sync.Mutex
	prefix   string // "o-<runID>-"
	seen     [numStages]map[string]int
	poison   map[string]bool
	dups     int
	other    int // messages of other runs, every stage
	undec    int // dead letters that are not orders
	want     int // orders to produce, 0 = unbounded
	wantDLQ  int
	complete chan struct{}
	closed   bool
}

func newTracker(runID string, orders, poison int) *tracker {
	t := &tracker{prefix: "o-" + runID + "-", poison: map[string]bool{}, want: orders, wantDLQ: poison, complete: make(chan struct{})}
	for i := range t.seen {
		t.seen[i] = map[string]int{}
	}
	return t
}

func (t *tracker) see(stage int, id string, poison bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !strings.HasPrefix(id, t.prefix) {
		t.other++
		return
	}
	t.seen[stage][id]++
	if t.seen[stage][id] > 1 {
		t.dups++
	}
	if poison {
		t.poison[id] = true
	}
	if !t.closed && t.want > 0 && t.doneLocked() {
		t.closed = true
		close(t.complete)
	}
}

// undecodable counts a dead letter that is not an order.
func (t *tracker) undecodable() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.undec++
}

func (t *tracker) doneLocked() bool {
	ok := t.want - t.wantDLQ
	return len(t.seen[stageProduced]) == t.want && len(t.seen[stageInventory]) == t.want &&
		len(t.seen[stageShipping]) == t.want && len(t.seen[stagePayment]) == ok &&
		len(t.seen[stageNotified]) == ok && len(t.seen[stageDLQ]) == t.wantDLQ
}

// drained reports whether every produced order reached every stage it
// should.
func (t *tracker) drained() bool { return t.summary().lost == 0 }

// summary counts, by unique order id, what each stage saw; lost counts the
// produced orders missing from a stage they should have reached.
type summary struct {
	counts     [numStages]int
	lost, dups int
	// other counts the messages of other runs the stages handled.
	other int
	// undecodable counts the dead letters that are not orders (payloads
	// that are not JSON orders with an order id): they are not counted by
	// order id, so they are neither lost nor duplicates.
	undecodable int
}

func (t *tracker) summary() summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	var s summary
	for i := range t.seen {
		s.counts[i] = len(t.seen[i])
	}
	s.dups, s.other, s.undecodable = t.dups, t.other, t.undec
	for id := range t.seen[stageProduced] {
		expect := []int{stageInventory, stageShipping, stagePayment, stageNotified}
		if t.poison[id] {
			expect = []int{stageInventory, stageShipping, stageDLQ}
		}
		for _, st := range expect {
			if t.seen[st][id] == 0 {
				s.lost++
				break
			}
		}
	}
	return s
}

// line is the summary line, without the newline. Its fields and their
// order are a contract (.ci, tests and users parse it): new fields go at
// the end.
func (s summary) line(elapsed time.Duration) string {
	return fmt.Sprintf("summary: produced=%d inventory=%d shipping=%d payment=%d notified=%d dlq=%d lost=%d duplicates=%d elapsed=%.3f undecodable=%d",
		s.counts[stageProduced], s.counts[stageInventory], s.counts[stageShipping], s.counts[stagePayment],
		s.counts[stageNotified], s.counts[stageDLQ], s.lost, s.dups, elapsed.Seconds(), s.undecodable)
}
