# The two commands of the README: `make run` and `make test`; and the deployment's: `make package lint deploy site`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: run test test-fast test-deps bench rehearsal venv clean package lint policy deploy site require-stage

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)  ## the whole platform locally, in the foreground (Ctrl-C stops it)
	$(PY) dev/run_local.py

# pytest-xdist runs the tests on TEST_WORKERS processes; tests/conftest.py keeps the tests of one file and the whole
# browser suite on one worker (so the kill -9 fault cases run one after another, beside the other workers' tests).
# Three on two cores: the browser and fault suites spend much of their time waiting (Chromium, restarted processes,
# SQS redelivery), which a third worker fills (README, Tests).
# The cases with a wall-clock budget (marker `serial`) run afterwards, alone, collected from the files that mark any
# (collecting the whole tree again would take seconds).
TEST_WORKERS ?= 3
# make test-fast's tests only compute (no browser, no stack to wait on): one worker per core.
FAST_WORKERS ?= 2
SERIAL_FILES = $(shell grep -rl --include='*.py' '@pytest.mark.serial' tests)

test: $(STAMP) test-deps  ## every test: domain, API on moto, local stack, browser (its measured time on 2 cores: README, Tests)
	status=0; \
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadscope -m "not serial" || status=$$?; \
	$(PY) -m pytest -q -m serial $(SERIAL_FILES) || status=$$?; \
	exit $$status

test-fast: $(STAMP)  ## domain rules, services on the in-memory stores, the stores' contracts (README: Tests)
	$(PY) -m pytest -q -n $(FAST_WORKERS) -m "not slow" tests/unit

# Debian packages the tests need: chromium (browser tests), LibreOffice Calc (the results workbook must open in it)
# and SpamAssassin (the invitation is scored with its local rules). Installed with apt-get when missing (sudo when
# not root), as .ci/run does on a fresh machine.
test-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v libreoffice >/dev/null 2>&1 \
	    || ! command -v spamassassin >/dev/null 2>&1; then \
	  echo "make test needs Debian's chromium, libreoffice-calc-nogui and spamassassin: installing them with apt-get"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libreoffice-calc-nogui spamassassin >/dev/null || { \
	    echo "could not install them: run 'sudo apt-get install chromium libreoffice-calc-nogui spamassassin' and try again"; \
	    exit 1; }; \
	fi

bench: $(STAMP)  ## benchmarks, each printing BENCH <name> ratio=<x> budget=<y>
	@for script in bench/bench_*.py; do $(PY) $$script || exit 1; done

rehearsal: $(STAMP)  ## a whole campaign through the HTTP API of a local stack, invariants, cost (SCALE=0.1 default)
	SCALE=$(or $(SCALE),0.1) $(PY) bench/rehearsal.py

clean:
	rm -rf $(VENV) .pytest_cache out

# --- Deployable artefacts and deployment (README: Deploying) ---------------------------------------------------
# package and lint need PyPI (chalice downloads the Lambda wheels) but no AWS; deploy and site need AWS credentials
# and the AWS CLI v2.
STAGES := dev prod
REGION ?= ap-southeast-1
CHALICE := AWS_DEFAULT_REGION=$(REGION) $(VENV)/bin/chalice
STACK = cchc-$(STAGE)
stack_output = aws cloudformation describe-stacks --region $(REGION) --stack-name $(STACK) \
	--query "Stacks[0].Outputs[?OutputKey=='$(1)'].OutputValue" --output text

package: $(STAMP)  ## out/<stage>/: sam.json (chalice's template merged with infra/) and deployment.zip; STAGE=… for one
	@set -e; for stage in $(or $(STAGE),$(STAGES)); do \
	  echo "package $$stage"; rm -rf out/$$stage; \
	  $(CHALICE) package --stage $$stage out/$$stage/chalice; \
	  $(PY) -m infra.build $$stage out/$$stage/chalice/sam.json > out/$$stage/resources.json; \
	  $(CHALICE) package --stage $$stage --merge-template out/$$stage/resources.json out/$$stage; \
	  rm -rf out/$$stage/chalice; \
	done

policy:  ## regenerate .chalice/policy-<function>.json from what each function's code calls (review the diff)
	$(PY) -m infra.policy

lint: package  ## cfn-lint on the packaged templates; the IAM policy matches the code; ruff and mypy on the code
	$(PY) -m infra.policy --check
	$(VENV)/bin/cfn-lint out/*/sam.json
	$(VENV)/bin/ruff check
	$(VENV)/bin/mypy

require-stage:
	@case "$(STAGE)" in dev|prod) ;; *) echo "usage: make $(MAKECMDGOALS) STAGE=dev|prod"; exit 2;; esac

deploy: require-stage  ## make deploy STAGE=dev|prod ARTIFACTS_BUCKET=<s3 bucket for the code>: create/update the stack
	@test -n "$(ARTIFACTS_BUCKET)" || { echo "ARTIFACTS_BUCKET=<an S3 bucket in $(REGION) for deployment files>"; exit 2; }
	$(MAKE) package STAGE=$(STAGE)
	aws cloudformation package --region $(REGION) --template-file out/$(STAGE)/sam.json --use-json \
	  --s3-bucket $(ARTIFACTS_BUCKET) --s3-prefix $(STACK) --output-template-file out/$(STAGE)/packaged.json
	aws cloudformation deploy --region $(REGION) --stack-name $(STACK) --template-file out/$(STAGE)/packaged.json \
	  --s3-bucket $(ARTIFACTS_BUCKET) --s3-prefix $(STACK) --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
	  --parameter-overrides file://infra/params/$(STAGE).json --tags project=cchc stage=$(STAGE) \
	  --no-fail-on-empty-changeset $(DEPLOY_FLAGS)

site: require-stage  ## make site STAGE=dev|prod: publish site/ with the stage's API URL, then refresh CloudFront
	@set -e; \
	api=$$($(call stack_output,EndpointURL)); bucket=$$($(call stack_output,SiteBucketName)); \
	distribution=$$($(call stack_output,SiteDistributionId)); \
	mkdir -p out/$(STAGE); printf 'window.CCHC_CONFIG = {"apiUrl": "%s"};\n' "$$api" > out/$(STAGE)/config.js; \
	echo "site → s3://$$bucket (API $$api)"; \
	aws s3 sync site/ s3://$$bucket/ --delete --exclude config.js --cache-control "public, max-age=300, s-maxage=86400"; \
	aws s3 cp out/$(STAGE)/config.js s3://$$bucket/config.js --content-type "text/javascript; charset=utf-8" \
	  --cache-control "public, max-age=300, s-maxage=86400"; \
	aws cloudfront create-invalidation --distribution-id $$distribution --paths '/*' --query Invalidation.Id --output text
