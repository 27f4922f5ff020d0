# bench/emulator.sh: sourced by the benchmarks that talk to ConnectWise.
#
#   start_emulator DIR NOW [EMULATOR OPTIONS...]
#
# Starts tests/cw-emulator.py on a free loopback port with DIR/data.json,
# waits until it listens, and sets pid, control (its control URL) and the
# DQ_CW_* variables dq needs, the credentials of tests/fixtures/cw-data.json.
start_emulator() {
	_dir=$1 _now=$2
	shift 2
	python3 "$top/tests/cw-emulator.py" --data "$_dir/data.json" --port 0 \
		--port-file "$_dir/port" --now "$_now" "$@" >"$_dir/emulator.log" 2>&1 &
	pid=$!
	while [ ! -s "$_dir/port" ]; do sleep 0.05; done
	control=http://127.0.0.1:$(cat "$_dir/port")/__control
	DQ_CW_URL=http://127.0.0.1:$(cat "$_dir/port")/v4_6_release/apis/3.0
	DQ_CW_COMPANY=dqtest DQ_CW_PUBLIC_KEY=dqPublicKey0001
	DQ_CW_PRIVATE_KEY=dqPrivateKey0001
	DQ_CW_CLIENT_ID=0f5c2b8e-6d8a-4b4e-9a57-3c1d2e4f5a6b
	export DQ_CW_URL DQ_CW_COMPANY DQ_CW_PUBLIC_KEY DQ_CW_PRIVATE_KEY DQ_CW_CLIENT_ID
}
