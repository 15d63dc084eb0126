//! [`ListValue`]: a list's elements, from head (index 0) to tail.

use std::collections::VecDeque;

use super::ELEMENT_OVERHEAD;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListValue {
    elements: VecDeque<Box<[u8]>>,
    /// Element bytes held.
    bytes: u64,
}

impl ListValue {
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    pub fn push_front(&mut self, element: &[u8]) {
        self.bytes += element.len() as u64;
        self.elements.push_front(element.into());
    }

    pub fn push_back(&mut self, element: &[u8]) {
        self.bytes += element.len() as u64;
        self.elements.push_back(element.into());
    }

    pub fn pop_front(&mut self) -> Option<Box<[u8]>> {
        let element = self.elements.pop_front()?;
        self.bytes -= element.len() as u64;
        Some(element)
    }

    pub fn pop_back(&mut self) -> Option<Box<[u8]>> {
        let element = self.elements.pop_back()?;
        self.bytes -= element.len() as u64;
        Some(element)
    }

    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.elements.get(index).map(|element| &element[..])
    }

    /// Replaces the element at `index`; false when out of range.
    pub fn set(&mut self, index: usize, element: &[u8]) -> bool {
        let Some(slot) = self.elements.get_mut(index) else {
            return false;
        };
        self.bytes = self.bytes - slot.len() as u64 + element.len() as u64;
        *slot = element.into();
        true
    }

    pub fn insert(&mut self, index: usize, element: &[u8]) {
        self.bytes += element.len() as u64;
        self.elements.insert(index, element.into());
    }

    pub fn remove(&mut self, index: usize) -> Option<Box<[u8]>> {
        let element = self.elements.remove(index)?;
        self.bytes -= element.len() as u64;
        Some(element)
    }

    /// Keeps only the elements at `start..end`.
    pub fn retain_range(&mut self, start: usize, end: usize) {
        let end = end.min(self.elements.len());
        let start = start.min(end);
        for element in self.elements.drain(end..) {
            self.bytes -= element.len() as u64;
        }
        for element in self.elements.drain(..start) {
            self.bytes -= element.len() as u64;
        }
    }

    /// Removes elements equal to `element`: up to `count` from the head when positive, from the
    /// tail when negative, all when zero. Returns how many.
    pub fn remove_matching(&mut self, element: &[u8], count: i64) -> usize {
        let limit = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs() as usize
        };
        let mut removed = 0;
        if count >= 0 {
            let mut index = 0;
            while index < self.elements.len() && removed < limit {
                if &self.elements[index][..] == element {
                    self.remove(index);
                    removed += 1;
                } else {
                    index += 1;
                }
            }
        } else {
            let mut index = self.elements.len();
            while index > 0 && removed < limit {
                index -= 1;
                if &self.elements[index][..] == element {
                    self.remove(index);
                    removed += 1;
                }
            }
        }
        removed
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        self.elements.iter().map(|element| &element[..])
    }

    /// Elements `start..=stop` (already resolved to valid indexes).
    pub fn range(&self, start: usize, stop: usize) -> impl Iterator<Item = &[u8]> {
        self.elements
            .range(start..=stop)
            .map(|element| &element[..])
    }

    pub fn estimated_size(&self) -> u64 {
        self.bytes + self.elements.len() as u64 * ELEMENT_OVERHEAD
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> ListValue {
        let mut list = ListValue::default();
        for item in items {
            list.push_back(item.as_bytes());
        }
        list
    }

    fn items(list: &ListValue) -> Vec<String> {
        list.iter()
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect()
    }

    #[test]
    fn remove_matching_from_either_end() {
        let mut from_head = list(&["a", "b", "a", "c", "a"]);
        assert_eq!(from_head.remove_matching(b"a", 2), 2);
        assert_eq!(items(&from_head), ["b", "c", "a"]);
        let mut from_tail = list(&["a", "b", "a", "c", "a"]);
        assert_eq!(from_tail.remove_matching(b"a", -2), 2);
        assert_eq!(items(&from_tail), ["a", "b", "c"]);
        let mut all = list(&["a", "b", "a"]);
        assert_eq!(all.remove_matching(b"a", 0), 2);
        assert_eq!(all.estimated_size(), 1 + ELEMENT_OVERHEAD);
    }

    proptest::proptest! {
        /// The running byte count always equals the elements' lengths, whatever was done.
        #[test]
        fn the_byte_count_stays_exact(operations in proptest::collection::vec((0u8..9, 0usize..12, 0usize..6), 0..60)) {
            let mut list = ListValue::default();
            for (operation, index, size) in operations {
                let element = vec![b'x'; size];
                let len = list.len();
                match operation {
                    0 => list.push_front(&element),
                    1 => list.push_back(&element),
                    2 => { list.pop_front(); }
                    3 => { list.pop_back(); }
                    4 => { list.set(index, &element); }
                    5 => list.insert(index.min(len), &element),
                    6 => { list.remove(index); }
                    7 => list.retain_range(index % 4, index),
                    _ => { list.remove_matching(&element, index as i64 - 6); }
                }
                let bytes: u64 = list.iter().map(|element| element.len() as u64).sum();
                proptest::prop_assert_eq!(
                    list.estimated_size(),
                    bytes + list.len() as u64 * ELEMENT_OVERHEAD
                );
            }
        }
    }

    #[test]
    fn retain_range_keeps_the_bytes_in_step() {
        let mut trimmed = list(&["a", "bb", "ccc", "dddd"]);
        trimmed.retain_range(1, 3);
        assert_eq!(items(&trimmed), ["bb", "ccc"]);
        assert_eq!(trimmed.estimated_size(), 5 + 2 * ELEMENT_OVERHEAD);
        trimmed.retain_range(5, 9);
        assert!(trimmed.is_empty());
        assert_eq!(trimmed.estimated_size(), 0);
    }
}
