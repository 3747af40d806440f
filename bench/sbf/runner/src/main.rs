//! Runs the engine harness (real SBF) in LiteSVM.
//!
//! `clearshard-sbf-runner <harness.so> test` settles one batch on the VM and
//! checks the resulting accounts against the same engine run natively and
//! against positions computed here; `... bench <results.json>` meters batches
//! of 1, 8, 32 and 64 fills and writes compute units per fill.

mod workload;

use clearshard_engine::{Fill, Portfolio};
use clearshard_sbf_harness::{encode_markets, run, LIQUIDATE, MARGIN_ACCOUNT_LEN, PORTFOLIO_OFFSET, SETTLE};
use litesvm::LiteSVM;
use solana_account::Account;
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_message::Message;
use solana_pubkey::Pubkey;
use solana_signer::Signer;
use solana_transaction::Transaction;
use std::process::ExitCode;

struct Vm {
    svm: LiteSVM,
    program: Pubkey,
    payer: Keypair,
}

/// The outcome of one batch on the VM.
struct Settled {
    compute_units: u64,
    accounts: Vec<Portfolio>,
}

impl Vm {
    fn new(so: &str) -> Result<Vm, String> {
        let mut svm = LiteSVM::new();
        let program = Pubkey::new_unique();
        svm.add_program_from_file(program, so).map_err(|e| format!("loading {so}: {e:?}"))?;
        let payer = Keypair::new();
        svm.airdrop(&payer.pubkey(), 10_000_000_000).map_err(|e| format!("airdrop: {e:?}"))?;
        Ok(Vm { svm, program, payer })
    }

    /// Stores `portfolios` as margin accounts, runs `fills` over them.
    fn settle(&mut self, portfolios: &[Portfolio], fills: &[Fill]) -> Result<Settled, String> {
        self.run(portfolios, settle_data(fills))
    }

    /// Stores `portfolios` as margin accounts and runs the harness on `data`.
    fn run(&mut self, portfolios: &[Portfolio], data: Vec<u8>) -> Result<Settled, String> {
        let mut metas = vec![];
        for p in portfolios {
            let key = Pubkey::new_unique();
            let mut data = vec![0u8; MARGIN_ACCOUNT_LEN];
            data[PORTFOLIO_OFFSET..].copy_from_slice(bytemuck::bytes_of(p));
            let account =
                Account { lamports: 1_000_000_000, data, owner: self.program, executable: false, rent_epoch: u64::MAX };
            self.svm.set_account(key, account).map_err(|e| format!("set_account: {e:?}"))?;
            metas.push(AccountMeta::new(key, false));
        }
        let ix = Instruction { program_id: self.program, accounts: metas.clone(), data };
        let message = Message::new(&[ix], Some(&self.payer.pubkey()));
        let tx = Transaction::new(&[&self.payer], message, self.svm.latest_blockhash());
        let meta = self
            .svm
            .send_transaction(tx)
            .map_err(|e| format!("batch failed: {:?}\n{}", e.err, e.meta.logs.join("\n")))?;
        let accounts = metas
            .iter()
            .map(|m| {
                let data = self.svm.get_account(&m.pubkey).expect("account").data;
                bytemuck::pod_read_unaligned(&data[PORTFOLIO_OFFSET..])
            })
            .collect();
        self.svm.expire_blockhash();
        Ok(Settled { compute_units: meta.compute_units_consumed, accounts })
    }
}

fn header(op: u8) -> Vec<u8> {
    let mut data = vec![0u8; 512];
    let len = encode_markets(op, &workload::markets(), workload::NOW, &mut data);
    data.truncate(len);
    data
}

fn settle_data(fills: &[Fill]) -> Vec<u8> {
    let mut data = header(SETTLE);
    data.extend(fills.iter().flat_map(|f| f.encode()));
    data
}

fn liquidate_data(market: u16, lots: u64) -> Vec<u8> {
    let mut data = header(LIQUIDATE);
    data.extend_from_slice(&market.to_le_bytes());
    data.extend_from_slice(&lots.to_le_bytes());
    data
}

/// The same batch through the same engine on the host.
fn settle_natively(portfolios: &[Portfolio], fills: &[Fill]) -> Result<Vec<Portfolio>, u64> {
    let mut accounts = portfolios.to_vec();
    let mut refs: Vec<&mut Portfolio> = accounts.iter_mut().collect();
    match run(&mut refs, &settle_data(fills)) {
        0 => Ok(accounts),
        code => Err(code),
    }
}

fn test(vm: &mut Vm) -> Result<(), String> {
    let portfolios = workload::portfolios(32);
    let fills = workload::fills(32, portfolios.len());
    let settled = vm.settle(&portfolios, &fills)?;
    let native = settle_natively(&portfolios, &fills).map_err(|c| format!("native run refused the batch: {c:#x}"))?;
    if settled.accounts != native {
        return Err("SBF and native engines disagree on the resulting accounts".into());
    }
    // Positions from first principles: every fill moves taker and maker by its quantity.
    let mut expected: Vec<[i64; 2]> =
        portfolios.iter().map(|p| [0u16, 1].map(|m| p.position(m).map_or(0, |pos| pos.base_lots))).collect();
    for f in &fills {
        let slot = f.market_slot as usize;
        expected[f.taker as usize][slot] += f.taker_delta();
        expected[f.maker as usize][slot] -= f.taker_delta();
    }
    for (i, (account, want)) in settled.accounts.iter().zip(&expected).enumerate() {
        let got = [0u16, 1].map(|m| account.position(m).map_or(0, |pos| pos.base_lots));
        if got != *want {
            return Err(format!("account {i}: positions {got:?}, expected {want:?}"));
        }
    }
    let before: i64 = portfolios.iter().map(|p| p.collateral).sum();
    let after: i64 = settled.accounts.iter().map(|p| p.collateral).sum();
    if after > before {
        return Err(format!("collateral grew from {before} to {after}"));
    }
    // A fill beyond an owner's size limit is refused on the VM with its fill index.
    let mut bad = fills.clone();
    bad[5].quantity_lots = 2_000_000;
    match vm.settle(&portfolios, &bad) {
        Err(e) if e.contains("Custom(1288)") => {} // fill 5 << 8 | QuantityAboveOwnerLimit (7) + 1
        other => return Err(format!("expected fill 5 refused for its size, got {:?}", other.map(|s| s.compute_units))),
    }
    println!(
        "sbf: batch of {} fills settled in {} CU; positions, collateral and refusal match",
        fills.len(),
        settled.compute_units
    );
    let liquidated = liquidation_check(vm)?;
    println!(
        "sbf: liquidation of {} lots in {} CU matches the native engine",
        workload::liquidation_lots(),
        liquidated
    );
    println!("sbf: 2 passed, 0 failed");
    Ok(())
}

/// Liquidates on the VM and natively; the accounts must agree. Returns the CU.
fn liquidation_check(vm: &mut Vm) -> Result<u64, String> {
    let (liqee, liqor) = workload::liquidation_accounts();
    let lots = workload::liquidation_lots();
    let data = liquidate_data(0, lots);
    let on_vm = vm.run(&[liqee, liqor], data.clone())?;
    let mut native = [liqee, liqor];
    let [a, b] = &mut native;
    let code = run(&mut [a, b], &data);
    if code != 0 {
        return Err(format!("native liquidation refused: {code:#x}"));
    }
    if on_vm.accounts != native {
        return Err("SBF and native liquidation disagree".into());
    }
    if on_vm.accounts[1].position(0).map(|p| p.base_lots) != Some(lots as i64) {
        return Err("the liquidator did not receive the lots".into());
    }
    Ok(on_vm.compute_units)
}

fn bench(vm: &mut Vm, out: &str) -> Result<(), String> {
    let mut json = serde_json::Map::new();
    println!("{:>6} {:>10} {:>10}", "fills", "total CU", "CU/fill");
    for size in [1usize, 8, 32, 64] {
        let portfolios = workload::portfolios(size);
        let fills = workload::fills(size, portfolios.len());
        let settled = vm.settle(&portfolios, &fills)?;
        let per_fill = settled.compute_units as f64 / size.max(1) as f64;
        println!("{size:>6} {:>10} {per_fill:>10.1}", settled.compute_units);
        json.insert(format!("engine_cu_per_fill_b{size}"), serde_json::json!((per_fill * 10.0).round() / 10.0));
        json.insert(format!("engine_cu_total_b{size}"), serde_json::json!(settled.compute_units));
    }
    let liquidate_cu = liquidation_check(vm)?;
    println!("{:>6} {:>10}", "liquidate", liquidate_cu);
    json.insert("liquidate_cu".into(), serde_json::json!(liquidate_cu));
    std::fs::write(out, serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?)
        .map_err(|e| format!("{out}: {e}"))?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1..).unwrap_or_default() {
        [so, cmd] if cmd == "test" => Vm::new(so).and_then(|mut vm| test(&mut vm)),
        [so, cmd, out] if cmd == "bench" => Vm::new(so).and_then(|mut vm| bench(&mut vm, out)),
        _ => Err("usage: clearshard-sbf-runner <harness.so> test | bench <results.json>".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
