# Every file in scripts/ is a target; the Makefile holds no build logic.
# Targets run inside dapper (the Dockerfile.dapper build container) when a
# Docker daemon answers, and directly on the host otherwise. CI always runs
# on the host: its machine has the toolchain and cannot pull build images.
# Override the choice with USE_DAPPER=1 or USE_DAPPER=0.

TARGETS := $(shell ls scripts)

ifeq ($(origin USE_DAPPER), undefined)
USE_DAPPER := $(shell if [ "$$CI" != "true" ] && timeout 10 docker info >/dev/null 2>&1; then echo 1; else echo 0; fi)
endif

.DEFAULT_GOAL := ci

.dapper:
	@echo Downloading dapper
	@curl -sfL https://releases.rancher.com/dapper/latest/dapper-$$(uname -s)-$$(uname -m) > .dapper.tmp
	@chmod +x .dapper.tmp
	@./.dapper.tmp -v
	@mv .dapper.tmp .dapper

ifeq ($(USE_DAPPER),1)
$(TARGETS): .dapper
	./.dapper $@
else
$(TARGETS):
	./scripts/$@
endif

# dev builds the binary and runs cattlesim plus the service on loopback
# (unless a scripts/dev exists, which then is the dev target).
ifeq ($(filter dev,$(TARGETS)),)
dev: build
	./bin/scale-subscriber dev
.PHONY: dev
endif

clean:
	rm -rf bin dist .dapper .dapper.tmp

.PHONY: $(TARGETS) clean
