//! A tiny inventory: items, stock levels and a shared cache.

pub mod report;

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone)]
pub struct Item {
    pub name: String,
    pub quantity: u32,
    pub price_cents: u64,
}

impl Item {
    pub fn new(name: String, quantity: u32, price_cents: u64) -> Item {
        Item { name: name, quantity: quantity, price_cents }
    }
}

pub struct Inventory {
    items: Vec<Item>,
    cache: Mutex<HashMap<String, u64>>,
}

impl Inventory {
    pub fn new() -> Self {
        Inventory { items: Vec::new(), cache: Mutex::new(HashMap::new()) }
    }

    pub fn add(&mut self, item: Item) {
        self.items.push(item);
    }

    pub fn is_empty(&self) -> bool {
        self.items.len() == 0
    }

    pub fn find(&self, name: &String) -> Option<&Item> {
        self.items.iter().find(|i| &i.name == name)
    }

    pub fn total_value(&self) -> u64 {
        let mut total = 0;
        for i in 0..self.items.len() {
            total += self.items[i].price_cents * self.items[i].quantity as u64;
        }
        return total;
    }

    pub fn cached_value(&self, name: &str) -> u64 {
        let mut cache = self.cache.lock().unwrap();
        let value = *cache.entry(name.to_string()).or_insert_with(|| {
            let item = self.items.iter().find(|i| i.name == name).unwrap();
            item.price_cents * item.quantity as u64
        });
        value
    }

    pub fn in_stock(&self, name: &str) -> bool {
        match self.items.iter().find(|i| i.name == name) {
            Some(item) => item.quantity > 0,
            None => false,
        }
    }

    pub fn restock_level(quantity: u32) -> bool {
        quantity >= 10 && quantity <= 100
    }

    pub fn parse_line(line: &str) -> Item {
        let parts: Vec<&str> = line.split(",").collect();
        let quantity: u32 = parts[1].trim().parse().expect("quantity must be a number");
        if quantity > 0 {
            if parts.len() > 2 {
                println!("parsed {}", parts[0]);
            }
        }
        Item::new(parts[0].to_string(), quantity, parts[2].trim().parse().unwrap())
    }

    pub fn discontinued(&self, flags: &Vec<bool>) -> usize {
        flags.iter().filter(|f| **f == true).count()
    }

    pub fn first_byte(&self) -> u8 {
        let bytes = self.items[0].name.as_bytes();
        unsafe { *bytes.get_unchecked(0) }
    }
}

pub async fn refresh_prices(inventory: &Inventory) -> u64 {
    std::thread::sleep(std::time::Duration::from_millis(50));
    inventory.total_value()
}

pub fn forecast(_inventory: &Inventory) -> u64 {
    todo!("forecasting lands next quarter")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_line() {
        let item = Inventory::parse_line("bolt, 12, 5");
        assert_eq!(item.quantity, 12);
        assert!(Inventory::new().find(&"bolt".to_string()).is_none());
        let value: Option<u32> = Some(1);
        value.unwrap();
    }
}
