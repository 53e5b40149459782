// Package bench compares fapilog-otel with the loggers and exporters a user
// would otherwise pick. It is a separate module so that the peers (zap,
// OTel's stdoutlog, ...) never enter the main module's dependencies.
//
//	cd bench && go test -run '^$' -bench . -benchmem -count 10 | tee new.txt
//	benchstat new.txt
package bench
