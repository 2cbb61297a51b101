package stream

import (
	"strings"
	"testing"
)

// TestBinderTypeKafkaStreamsSaysUnsupported: an SCSt file binding a
// function to the Kafka Streams binder (type kstream, as in
// e2e/scst/testdata/real/s11-rogervinas-multibinder) fails saying that
// Kafka Streams is not supported, not only that no such type is
// registered (which reads as a package to add).
func TestBinderTypeKafkaStreamsSaysUnsupported(t *testing.T) {
	types := BinderTypes{}
	types.Add("kafka", nil)
	for _, typ := range []string{"kstream", "ktable", "globalktable"} {
		_, err := types.Lookup(typ)
		if err == nil || !strings.Contains(err.Error(), "Kafka Streams binder is not supported") || !strings.Contains(err.Error(), `"`+typ+`"`) {
			t.Errorf("%s: %v", typ, err)
		}
	}
	if _, err := types.Lookup("kafak"); err == nil || !strings.Contains(err.Error(), "did you mean kafka?") {
		t.Errorf("kafak: %v", err)
	}
}
