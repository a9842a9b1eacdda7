package emulator

import "github.com/opsdeck/opsdeck/sync/socotra/wire"

// Wire types of the Socotra events API (seed 004, API-CONTRACT.md §2). The
// client's package sync/socotra/wire owns them; the emulator encodes the
// very same types.
type (
	SocotraEvent         = wire.Event
	SocotraEventStream   = wire.EventStream
	ScheduledPolicyEvent = wire.ScheduledPolicyEvent
	FailedJobDetails     = wire.FailedJobDetails
	FailedJobRequest     = wire.FailedJobRequest
	SocotraError         = wire.ErrorBody
)
