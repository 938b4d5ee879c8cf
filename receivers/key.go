package receivers

import (
	"errors"
	"fmt"
	"io"
)

// keyLength and keyAlphabet are webhook-service's (uniuri.NewLen(40)): 40 characters of [A-Za-z0-9], about 238
// bits. Keys look the same as the original's, so nothing downstream can tell the two apart.
const (
	keyLength   = 40
	keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// newKey draws a trigger key from src without modulo bias (bytes above the largest multiple of the alphabet
// size are rejected).
func newKey(src io.Reader) (string, error) {
	const limit = 256 - 256%len(keyAlphabet)
	out := make([]byte, 0, keyLength)
	buf := make([]byte, 2*keyLength)
	// A fair source fills the key in one round almost always; the bound only stops a broken one.
	for round := 0; len(out) < keyLength; round++ {
		if round == 64 {
			return "", errors.New("key source yields too few usable bytes")
		}
		if _, err := io.ReadFull(src, buf); err != nil {
			return "", fmt.Errorf("read random bytes for a key: %w", err)
		}
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out = append(out, keyAlphabet[int(b)%len(keyAlphabet)])
			if len(out) == keyLength {
				break
			}
		}
	}
	return string(out), nil
}
