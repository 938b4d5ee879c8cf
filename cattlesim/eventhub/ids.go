package eventhub

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"
)

// newUUID returns a random (version 4) UUID, the form Cattle uses for event ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newReplyTo returns "reply.<positive random int64>", Cattle's reply address
// form (ListenerPoolObjectFactory).
func newReplyTo() string {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:])
		n := int64(binary.BigEndian.Uint64(b[:]) &^ (1 << 63))
		if n > 0 {
			return "reply." + strconv.FormatInt(n, 10)
		}
	}
}
