package emulator

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/opsdeck/opsdeck/internal/hostile"
)

// Hostile mode (Options.Hostile, `opsdeck emulator --hostile`) appends a
// string from the internal/hostile corpus to every free-text string of
// every successful JSON answer of every API: names, messages, descriptions,
// payload attributes, metadata. Keys, ids, times, enums, tokens and filters
// are left alone, so sync still works and the test is about what reaches
// the screen. The choice is a hash of the field and its value: the same
// record always carries the same hostile text, whichever page it is on.

// hostileSkip reports keys whose values must stay machine-readable.
func hostileSkip(key string) bool {
	k := strings.ToLower(key)
	switch k {
	case "id", "state", "severity", "category", "type", "status", "trigger", "group", "kind",
		"action", "decision", "signed_off_state", "filter", "mutable_filter", "highlight_color",
		"action_type", "event_type", "entity_type", "event_source", "extraction_event_type",
		"provider", "order_by", "code", "triggerstate", "trigger_state", "list", "reason_code",
		"policy_task", "extraction_event", "next_page_token", "pagingtoken":
		return true
	}
	return strings.HasSuffix(k, "id") || strings.HasSuffix(k, "_at") || strings.HasSuffix(k, "at") && strings.Contains(key, "At") ||
		strings.Contains(k, "token") || strings.Contains(k, "timestamp") || strings.Contains(k, "locator") ||
		strings.Contains(k, "time") || strings.HasSuffix(k, "_ids") || strings.HasSuffix(k, "date")
}

// hostileJSON rewrites body; anything that is not JSON is returned as is.
func hostileJSON(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return body
	}
	v = hostileWalk("", v)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return body
	}
	return bytes.TrimRight(out.Bytes(), "\n")
}

func hostileWalk(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = hostileWalk(k, e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = hostileWalk(key, e)
		}
		return x
	case string:
		if key == "" || hostileSkip(key) {
			return x
		}
		big := key == "message" || key == "error_messages"
		return x + " " + hostile.Pick(key+"\x00"+x, big).Value
	}
	return v
}
