//! Printing a stock report.

use crate::Inventory;

pub fn summary(inventory: &Inventory, title: &String) -> String {
    let line = format!("{}: {} cents", title, inventory.total_value());
    dbg!(&line);
    line
}

pub fn header() {
    println!("");
    print!("Inventory report\n");
}
