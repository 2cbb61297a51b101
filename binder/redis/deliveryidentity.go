package redis

import "github.com/streambind/streambind/stream"

var _ stream.DeliveryIdentifier = (*Binder)(nil)

// DeliveryIdentity is the identity of the stored message r describes
// ([stream.DeliveryIdentifier]): [stream.DeliveryIdentity] of this
// binder's type.
func (*Binder) DeliveryIdentity(r stream.Received) (string, bool) {
	return stream.DeliveryIdentity(Type, r)
}
