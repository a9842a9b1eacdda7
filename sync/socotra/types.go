package socotra

import (
	"encoding/json"

	"github.com/opsdeck/opsdeck/sync/socotra/wire"
)

// EventRecord is an event as the client returns it: the fields of Event
// (Data left nil), the data map exactly as sent, and the whole object as
// sent, for the cache's raw column.
type EventRecord struct {
	wire.Event
	DataJSON json.RawMessage `json:"data"` // shadows Event.Data
	Raw      json.RawMessage `json:"-"`
}

// Record is a value with the bytes it was decoded from.
type Record[T any] struct {
	Value T
	Raw   json.RawMessage
}
