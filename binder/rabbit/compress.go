package rabbit

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"
)

// gzipper gzips message bodies at one level (SCSt's compression-level),
// reusing its writers: a deflate writer's state is several hundred
// kilobytes.
type gzipper struct {
	level int
	pool  sync.Pool // *gzip.Writer
}

func newGzipper(level int) (*gzipper, error) {
	// Checked once here so that compress cannot fail on the level.
	if _, err := gzip.NewWriterLevel(nil, level); err != nil {
		return nil, fmt.Errorf("compression-level: %w", err)
	}
	return &gzipper{level: level}, nil
}

// compress gzips msg's body and sets its content_encoding as Spring AMQP's
// GZipPostProcessor does: "gzip", or "gzip, <encoding>" when msg had one
// (its delimiter since Spring AMQP 2.3; Spring's and this binder's
// consumers read ':' and ','), with the header springAutoDecompress true
// (added to msg's headers in place). A payload over maxMessageSize (the
// binder's max-message-size; 0: none) before compression is refused
// (ErrTooLarge): this binder's consumers decompress a body to at most that
// size, and would dead-letter it.
func (g *gzipper) compress(msg *amqp.Publishing, maxMessageSize int) error {
	if maxMessageSize > 0 && len(msg.Body) > maxMessageSize {
		return fmt.Errorf("%w: payload of %d bytes before compression, over max-message-size %d (a consumer decompresses a body to at most max-message-size)", ErrTooLarge, len(msg.Body), maxMessageSize)
	}
	if err := markGzipped(msg); err != nil {
		return err
	}
	var buf bytes.Buffer
	// Most payloads worth compressing shrink well; a guess, grown as
	// needed.
	buf.Grow(len(msg.Body)/2 + 64)
	w, _ := g.pool.Get().(*gzip.Writer)
	if w == nil {
		w, _ = gzip.NewWriterLevel(&buf, g.level) // level checked in newGzipper
	} else {
		w.Reset(&buf)
	}
	_, err := w.Write(msg.Body)
	if err == nil {
		err = w.Close()
	}
	w.Reset(nil)
	g.pool.Put(w)
	if err != nil {
		return fmt.Errorf("gzip the payload: %w", err)
	}
	msg.Body = buf.Bytes()
	return nil
}

// markGzipped gives msg the content_encoding and header of a gzipped
// message (compress), without touching its body: "gzip", or "gzip,
// <encoding>" when it had one, and springAutoDecompress true in its
// headers (in place: clone them first to keep the original). A
// content_encoding that grows over maxShortstr is refused
// (errInvalidMessage). compress and the batching producer's check of each
// message (checkBatched) both use it, so that they cannot disagree.
func markGzipped(msg *amqp.Publishing) error {
	enc := "gzip"
	if msg.ContentEncoding != "" {
		enc += ", " + msg.ContentEncoding
	}
	if len(enc) > maxShortstr {
		return fmt.Errorf("%w: content_encoding %.60q… is %d bytes with gzip's; AMQP allows at most %d", errInvalidMessage, enc, len(enc), maxShortstr)
	}
	msg.ContentEncoding = enc
	if msg.Headers == nil {
		msg.Headers = amqp.Table{}
	}
	msg.Headers[springAutoDecompressHeader] = true
	return nil
}
