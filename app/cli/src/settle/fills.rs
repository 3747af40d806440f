//! A matcher's fills as JSON Lines, validated in full before anything is sent.
//!
//! One fill a line, as the matching engine reports it:
//! `{"id":"f-1","market":"BTC-PERP","maker":"<margin account>","taker":"<margin account>","side":"buy","price":60000,"quantity":10}`
//! - `id`: the matcher's own fill id, unique in the file;
//! - `market`: the market's id (a number) or name;
//! - `maker`, `taker`: margin account addresses; a maker's fills settle on
//!   the taker's shard against the maker's liquidity account there;
//! - `side`: the taker's side, `buy` or `sell`;
//! - `price`: ticks per lot; `quantity`: lots (both positive, 32-bit).

use anchor_lang::prelude::Pubkey;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::str::FromStr;

/// Most problems one refusal lists (the count of the rest is given).
const MAX_REPORTED: usize = 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MarketRef {
    Id(u16),
    Name(String),
}

/// One validated line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FillLine {
    /// 1-based line number in the input.
    pub line: usize,
    pub id: String,
    pub market: MarketRef,
    pub maker: Pubkey,
    pub taker: Pubkey,
    pub taker_buys: bool,
    pub price_ticks: u32,
    pub quantity_lots: u32,
}

/// Every problem found, each naming its line.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal(pub Vec<(usize, String)>);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} invalid line(s); nothing was sent:", self.0.len())?;
        for (line, reason) in self.0.iter().take(MAX_REPORTED) {
            writeln!(f, "  line {line}: {reason}")?;
        }
        if self.0.len() > MAX_REPORTED {
            writeln!(f, "  … and {} more", self.0.len() - MAX_REPORTED)?;
        }
        Ok(())
    }
}

/// Parses and checks every line; blank lines are skipped.
pub fn parse(text: &str) -> Result<Vec<FillLine>, Refusal> {
    let mut fills = vec![];
    let mut problems = vec![];
    let mut ids = HashSet::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line(line, raw) {
            Ok(fill) => {
                if !ids.insert(fill.id.clone()) {
                    problems.push((line, format!("id {:?} repeats an earlier line", fill.id)));
                }
                fills.push(fill);
            }
            Err(reason) => problems.push((line, reason)),
        }
    }
    if fills.is_empty() && problems.is_empty() {
        problems.push((0, "no fills in the input".to_string()));
    }
    if problems.is_empty() {
        Ok(fills)
    } else {
        Err(Refusal(problems))
    }
}

fn parse_line(line: usize, raw: &str) -> Result<FillLine, String> {
    let value: Value = serde_json::from_str(raw).map_err(|e| format!("not JSON: {e}"))?;
    let object = value.as_object().ok_or("not a JSON object")?;
    const FIELDS: [&str; 7] = ["id", "market", "maker", "taker", "side", "price", "quantity"];
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!("unknown field {unknown:?} (fields: {})", FIELDS.join(", ")));
    }
    let id = match field(object, "id")? {
        Value::String(s) if !s.is_empty() => s.clone(),
        Value::Number(n) => n.to_string(),
        other => return Err(format!("id: expected a non-empty string, got {other}")),
    };
    let market = match field(object, "market")? {
        Value::Number(n) => MarketRef::Id(
            n.as_u64().and_then(|m| u16::try_from(m).ok()).ok_or(format!("market: {n} is not a market id"))?,
        ),
        Value::String(s) if !s.is_empty() => MarketRef::Name(s.clone()),
        other => return Err(format!("market: expected an id or a name, got {other}")),
    };
    let maker = address(object, "maker")?;
    let taker = address(object, "taker")?;
    if maker == taker {
        return Err("maker and taker are the same account".to_string());
    }
    let taker_buys = match field(object, "side")?.as_str() {
        Some("buy") => true,
        Some("sell") => false,
        _ => return Err(format!("side: expected \"buy\" or \"sell\" (the taker's side), got {}", object["side"])),
    };
    Ok(FillLine {
        line,
        id,
        market,
        maker,
        taker,
        taker_buys,
        price_ticks: positive_u32(object, "price", "ticks per lot")?,
        quantity_lots: positive_u32(object, "quantity", "lots")?,
    })
}

fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    object.get(name).ok_or_else(|| format!("missing field {name:?}"))
}

fn address(object: &Map<String, Value>, name: &str) -> Result<Pubkey, String> {
    let text = field(object, name)?.as_str().ok_or_else(|| format!("{name}: expected a base58 address"))?;
    Pubkey::from_str(text).map_err(|_| format!("{name}: {text:?} is not a base58 address"))
}

fn positive_u32(object: &Map<String, Value>, name: &str, unit: &str) -> Result<u32, String> {
    let value = field(object, name)?;
    value
        .as_u64()
        .filter(|v| *v > 0)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| format!("{name}: expected a whole number of {unit} from 1 to {}, got {value}", u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(extra: &str) -> String {
        let (a, b) = (Pubkey::new_unique(), Pubkey::new_unique());
        format!(
            r#"{{"id":"f1","market":0,"maker":"{a}","taker":"{b}","side":"buy","price":60000,"quantity":10{extra}}}"#
        )
    }

    #[test]
    fn a_good_line_parses() {
        let fills = parse(&line("")).unwrap();
        assert_eq!(fills.len(), 1);
        assert_eq!((fills[0].line, fills[0].price_ticks, fills[0].quantity_lots), (1, 60_000, 10));
        assert!(fills[0].taker_buys);
    }

    #[test]
    fn every_bad_line_is_named_with_its_reason() {
        let good = line("");
        let text = [
            good.clone(),
            "{not json".to_string(),
            good.replace("\"buy\"", "\"long\""),
            good.replace("60000", "-5"),
            good.replace(":10", ":4294967296"),
            good.replace("\"f1\"", "\"f2\"").replace("\"market\":0", "\"market\":70000"),
            line(r#","extra":1"#).replace("\"f1\"", "\"f3\""),
            good.clone(),
        ]
        .join("\n");
        let Refusal(problems) = parse(&text).unwrap_err();
        let lines: Vec<usize> = problems.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 8]);
        assert!(problems[0].1.starts_with("not JSON"));
        assert!(problems[1].1.starts_with("side:"));
        assert!(problems[2].1.starts_with("price:"));
        assert!(problems[3].1.starts_with("quantity:"));
        assert!(problems[4].1.starts_with("market:"));
        assert!(problems[5].1.starts_with("unknown field \"extra\""));
        assert!(problems[6].1.contains("repeats an earlier line"));
    }

    #[test]
    fn an_empty_input_is_refused() {
        assert!(parse("\n\n").is_err());
    }
}
