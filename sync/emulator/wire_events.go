package emulator

import "github.com/opsdeck/opsdeck/sync/veza"

// Wire types of the Veza system events API (seed 002, API-CONTRACT.md
// §1.6). They live in sync/veza, which speaks this API, so the client and
// the emulator cannot drift apart; these names keep the emulator's code
// readable.
type (
	// SystemEvent is one Veza platform event; Error is null when the event
	// is no failure.
	SystemEvent = veza.SystemEvent
	// EventError is the error object of a system event.
	EventError = veza.EventError
	// EventPage is a page of GET /api/preview/events: the list envelope of
	// §1.1.
	EventPage = veza.ListPage[veza.SystemEvent]
	// EventExportPage is a page of GET /api/preview/events/export: seed
	// 002's "events" and "next_page_token", which is always set and can be
	// followed later for newer events (a tail cursor), plus has_more, false
	// once the export has caught up.
	EventExportPage = veza.EventExportPage
)
