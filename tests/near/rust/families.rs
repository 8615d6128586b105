// A NEAR contract without near-sdk: each exported method exercises one family of NEAR's `env`
// host functions. Built by the tests with Debian's rustc for wasm32-unknown-unknown (no_std).
// Many methods pass data through registers (length u64::MAX = "read register `ptr`") so that
// the host fees are easy to compute by hand.
#![no_std]

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

const REG: u64 = u64::MAX;

#[link(wasm_import_module = "env")]
extern "C" {
    fn read_register(register_id: u64, ptr: u64);
    fn register_len(register_id: u64) -> u64;
    fn write_register(register_id: u64, data_len: u64, data_ptr: u64);
    fn current_account_id(register_id: u64);
    fn signer_account_id(register_id: u64);
    fn signer_account_pk(register_id: u64);
    fn predecessor_account_id(register_id: u64);
    fn input(register_id: u64);
    fn block_index() -> u64;
    fn block_timestamp() -> u64;
    fn epoch_height() -> u64;
    fn storage_usage() -> u64;
    fn account_balance(balance_ptr: u64);
    fn account_locked_balance(balance_ptr: u64);
    fn attached_deposit(balance_ptr: u64);
    fn prepaid_gas() -> u64;
    fn used_gas() -> u64;
    fn random_seed(register_id: u64);
    fn sha256(value_len: u64, value_ptr: u64, register_id: u64);
    fn keccak256(value_len: u64, value_ptr: u64, register_id: u64);
    fn keccak512(value_len: u64, value_ptr: u64, register_id: u64);
    fn ripemd160(value_len: u64, value_ptr: u64, register_id: u64);
    fn ed25519_verify(sig_len: u64, sig_ptr: u64, msg_len: u64, msg_ptr: u64, pk_len: u64, pk_ptr: u64) -> u64;
    fn ecrecover(hash_len: u64, hash_ptr: u64, sig_len: u64, sig_ptr: u64, v: u64, malleability_flag: u64,
                 register_id: u64) -> u64;
    fn value_return(value_len: u64, value_ptr: u64);
    fn panic_utf8(len: u64, ptr: u64);
    fn log_utf8(len: u64, ptr: u64);
    fn log_utf16(len: u64, ptr: u64);
    fn storage_write(key_len: u64, key_ptr: u64, value_len: u64, value_ptr: u64, register_id: u64) -> u64;
    fn storage_read(key_len: u64, key_ptr: u64, register_id: u64) -> u64;
    fn storage_remove(key_len: u64, key_ptr: u64, register_id: u64) -> u64;
    fn storage_has_key(key_len: u64, key_ptr: u64) -> u64;
    fn promise_batch_create(account_id_len: u64, account_id_ptr: u64) -> u64;
    fn promise_batch_then(promise_index: u64, account_id_len: u64, account_id_ptr: u64) -> u64;
    fn promise_batch_action_function_call(promise_index: u64, method_name_len: u64, method_name_ptr: u64,
                                          arguments_len: u64, arguments_ptr: u64, amount_ptr: u64, gas: u64);
    fn promise_batch_action_transfer(promise_index: u64, amount_ptr: u64);
    fn promise_return(promise_index: u64);
    fn validator_stake(account_id_len: u64, account_id_ptr: u64, stake_ptr: u64);
    fn validator_total_stake(stake_ptr: u64);
    fn alt_bn128_g1_sum(value_len: u64, value_ptr: u64, register_id: u64);
}

static mut BUF: [u8; 16384] = [0; 16384];

unsafe fn buf() -> u64 {
    BUF.as_ptr() as u64
}

/// The input copied into BUF; returns its length.
unsafe fn read_input() -> u64 {
    input(0);
    let n = register_len(0);
    if n > 16384 {
        let m = b"input too long";
        panic_utf8(m.len() as u64, m.as_ptr() as u64);
    }
    read_register(0, buf());
    n
}

unsafe fn u32_at(i: usize) -> u64 {
    (BUF[i] as u64) | (BUF[i + 1] as u64) << 8 | (BUF[i + 2] as u64) << 16 | (BUF[i + 3] as u64) << 24
}

unsafe fn ret_byte(b: u8) {
    BUF[0] = b;
    value_return(1, buf());
}

// ---- math -----------------------------------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn h_sha256() { input(0); sha256(REG, 0, 1); value_return(REG, 1); }
#[no_mangle]
pub unsafe extern "C" fn h_keccak256() { input(0); keccak256(REG, 0, 1); value_return(REG, 1); }
#[no_mangle]
pub unsafe extern "C" fn h_keccak512() { input(0); keccak512(REG, 0, 1); value_return(REG, 1); }
#[no_mangle]
pub unsafe extern "C" fn h_ripemd160() { input(0); ripemd160(REG, 0, 1); value_return(REG, 1); }

/// input: signature (64) | public key (32) | message
#[no_mangle]
pub unsafe extern "C" fn ed_verify() {
    let n = read_input();
    let b = buf();
    ret_byte(ed25519_verify(64, b, n - 96, b + 96, 32, b + 64) as u8);
}

/// input: hash (32) | signature (64) | v (1) | malleability flag (1); returns the key or [0]
#[no_mangle]
pub unsafe extern "C" fn ec_recover() {
    read_input();
    let b = buf();
    if ecrecover(32, b, 64, b + 32, BUF[96] as u64, BUF[97] as u64, 1) == 1 {
        value_return(REG, 1);
    } else {
        ret_byte(0);
    }
}

#[no_mangle]
pub unsafe extern "C" fn bn_sum() { input(0); alt_bn128_g1_sum(REG, 0, 1); value_return(REG, 1); }

// ---- context ----------------------------------------------------------------------------------------

unsafe fn put_u64(at: usize, v: u64) {
    let b = v.to_le_bytes();
    let mut i = 0;
    while i < 8 { BUF[at + i] = b[i]; i += 1; }
}

/// block height, timestamp, epoch, storage usage, prepaid gas, used gas (u64 each), then the
/// balance, locked balance and attached deposit (u128 each): 96 bytes
#[no_mangle]
pub unsafe extern "C" fn context() {
    put_u64(0, block_index());
    put_u64(8, block_timestamp());
    put_u64(16, epoch_height());
    put_u64(24, storage_usage());
    put_u64(32, prepaid_gas());
    put_u64(40, used_gas());
    let b = buf();
    account_balance(b + 48);
    account_locked_balance(b + 64);
    attached_deposit(b + 80);
    value_return(96, b);
}

/// context that a view may read
#[no_mangle]
pub unsafe extern "C" fn view_context() {
    put_u64(0, block_index());
    put_u64(8, storage_usage());
    account_balance(buf() + 16);
    value_return(32, buf());
}

/// input byte: 0 current account, 1 signer, 2 predecessor, 3 signer key, 4 random seed
#[no_mangle]
pub unsafe extern "C" fn who() {
    read_input();
    match BUF[0] {
        0 => current_account_id(1),
        1 => signer_account_id(1),
        2 => predecessor_account_id(1),
        3 => signer_account_pk(1),
        _ => random_seed(1),
    }
    value_return(REG, 1);
}

/// input: an account id; returns its stake and the total stake (u128 each)
#[no_mangle]
pub unsafe extern "C" fn stakes() {
    input(0);
    validator_stake(REG, 0, buf());
    validator_total_stake(buf() + 16);
    value_return(32, buf());
}

// ---- registers ----------------------------------------------------------------------------------------

/// input: u32 count; writes one byte into registers 0..count
#[no_mangle]
pub unsafe extern "C" fn fill_registers() {
    read_input();
    let n = u32_at(0);
    let mut i = 0;
    while i < n { write_register(i, 1, buf()); i += 1; }
    ret_byte(1);
}

#[no_mangle]
pub unsafe extern "C" fn read_missing_register() { read_register(7, buf()); }

// ---- logs ---------------------------------------------------------------------------------------------

/// input: u32 count | u32 length: logs `count` messages of `length` bytes ('a')
#[no_mangle]
pub unsafe extern "C" fn logs() {
    read_input();
    let (n, len) = (u32_at(0), u32_at(4));
    let mut i = 0;
    while i < len { BUF[8 + i as usize] = b'a'; i += 1; }
    let mut k = 0;
    while k < n { log_utf8(len, buf() + 8); k += 1; }
}

/// input: UTF-16LE text, logged
#[no_mangle]
pub unsafe extern "C" fn log16() {
    let n = read_input();
    log_utf16(n, buf());
}

/// a NUL-terminated UTF-8 log
#[no_mangle]
pub unsafe extern "C" fn log_cstr() {
    let m = b"hello\0";
    log_utf8(u64::MAX, m.as_ptr() as u64);
}

// ---- storage -------------------------------------------------------------------------------------------

/// input: u32 key length | key | value; returns 1 if a value was replaced (then also logged)
#[no_mangle]
pub unsafe extern "C" fn kv_put() {
    let n = read_input();
    let kl = u32_at(0);
    let b = buf();
    let evicted = storage_write(kl, b + 4, n - 4 - kl, b + 4 + kl, 1);
    ret_byte(evicted as u8);
}

/// input: key; returns the value, or nothing if absent
#[no_mangle]
pub unsafe extern "C" fn kv_get() {
    input(0);
    if storage_read(REG, 0, 1) == 1 { value_return(REG, 1); }
}

#[no_mangle]
pub unsafe extern "C" fn kv_has() { input(0); ret_byte(storage_has_key(REG, 0) as u8); }

#[no_mangle]
pub unsafe extern "C" fn kv_del() { input(0); ret_byte(storage_remove(REG, 0, 1) as u8); }

/// two writes and a log, then a panic: nothing of it may remain
#[no_mangle]
pub unsafe extern "C" fn put_then_panic() {
    let (k1, k2, v, m) = (b"first", b"second", b"value", b"about to fail");
    storage_write(k1.len() as u64, k1.as_ptr() as u64, v.len() as u64, v.as_ptr() as u64, 1);
    storage_write(k2.len() as u64, k2.as_ptr() as u64, v.len() as u64, v.as_ptr() as u64, 1);
    log_utf8(m.len() as u64, m.as_ptr() as u64);
    let p = b"failed after writes";
    panic_utf8(p.len() as u64, p.as_ptr() as u64);
}

// ---- promises ------------------------------------------------------------------------------------------

/// input: receiver account id. A call to receiver.go with 5 Tgas and 1 yoctoNEAR, a transfer of
/// 2 yoctoNEAR in the same receipt, then a callback to this account's cb with 2 Tgas; the
/// callback's result is returned.
#[no_mangle]
pub unsafe extern "C" fn schedule() {
    let n = read_input();
    let b = buf();
    let one: u128 = 1;
    let two: u128 = 2;
    let zero: u128 = 0;
    let p0 = promise_batch_create(n, b);
    let (m, a) = (b"go", b"{}");
    promise_batch_action_function_call(p0, m.len() as u64, m.as_ptr() as u64, a.len() as u64, a.as_ptr() as u64,
                                       &one as *const u128 as u64, 5_000_000_000_000);
    promise_batch_action_transfer(p0, &two as *const u128 as u64);
    current_account_id(2);
    let p1 = promise_batch_then(p0, REG, 2);
    let cb = b"cb";
    promise_batch_action_function_call(p1, cb.len() as u64, cb.as_ptr() as u64, 0, 0, &zero as *const u128 as u64,
                                       2_000_000_000_000);
    promise_return(p1);
}

// ---- failures ------------------------------------------------------------------------------------------

static mut SINK: u64 = 0;

#[no_mangle]
pub unsafe extern "C" fn burn() {
    loop { SINK = core::ptr::read_volatile(&SINK).wrapping_add(1); }
}

#[inline(never)]
#[no_mangle]
pub extern "C" fn depth(n: u64, acc: u64) -> u64 {
    if n == 0 { acc } else { depth(n - 1, acc.wrapping_mul(31).wrapping_add(n)).rotate_left(7) ^ n }
}

#[no_mangle]
pub unsafe extern "C" fn recurse() { put_u64(0, depth(1_000_000_000, 7)); value_return(8, buf()); }

#[no_mangle]
pub unsafe extern "C" fn trap_unreachable() { core::arch::wasm32::unreachable() }

#[no_mangle]
pub extern "C" fn takes_param(x: u64) -> u64 { x + 1 }
