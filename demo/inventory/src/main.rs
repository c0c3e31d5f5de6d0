use inventory::{Inventory, Item};

fn main() {
    let mut inventory = Inventory::new();
    inventory.add(Item::new("bolt".to_string(), 12, 5));
    inventory.add(Item::new("nut".to_string(), 0, 3));
    let path = std::env::args().nth(1).unwrap();
    println!("{} loaded from {}", inventory.total_value(), path);
}
